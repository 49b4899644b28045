// The waiting verbs' common part (initiate, terminate, rekey): their flags, and the wait itself over the daemon's
// `*-wait` streams (src/control/commands/outcome.ts), which prints what the daemon logs meanwhile and then the
// result as swanctl does, or as one JSON object a script can rely on.
import { controlCall, controlWait, NoDaemonError } from '../control/client.js';
import { formatEventText } from '../control/watch-cli.js';
import type { Outcome } from '../ops/outcome.js';
import { EXIT, type Flag, num, socketPath, UsageError, type Values } from './verb.js';

export const waitFlags: Flag[] = [
  {
    name: 'timeout',
    type: 'string',
    arg: 'SECONDS',
    help: "stop waiting after SECONDS, 0: never (default: twice the daemon's retransmit give-up time + 5 s)",
  },
  { name: 'quiet', type: 'boolean', help: 'print only the result, no log lines (or events) while waiting' },
  {
    name: 'loglevel',
    type: 'string',
    arg: 'N',
    help: "the daemon's log lines of that IKE_SA up to level N, -1..4 (default 1, like swanctl), whatever daemon.log.levels say",
  },
  {
    name: 'events',
    type: 'boolean',
    help: 'stream the structured events of that IKE_SA (as ikelab watch prints them) instead of log lines',
  },
  { name: 'json', type: 'boolean', help: 'print one result object {ok, ike, ikeId, child, childId, notify, reason, elapsedMs}' },
  { name: 'no-wait', type: 'boolean', help: "return once the daemon started it (prints the daemon's reply)" },
];

export const targetFlags = (verb: string): Flag[] => [
  { name: 'child', type: 'string', arg: 'NAME', help: `the CHILD_SA to ${verb} (name, or unique id)` },
  { name: 'ike', type: 'string', arg: 'NAME', help: `the IKE_SA to ${verb} (connection name, or unique id)` },
];

/** The --json result object: every key present (null when it does not apply), so scripts can rely on the shape. */
function outcomeJson(o: Partial<Outcome>): Record<string, unknown> {
  const keys = ['ok', 'ike', 'ikeId', 'child', 'childId', 'notify', 'reason', 'elapsedMs'] as const;
  return Object.fromEntries(keys.map((k) => [k, o[k] ?? (k === 'ok' ? false : k === 'elapsedMs' ? 0 : null)]));
}

/** `IKE_SA demo[1], CHILD_SA net{2}` as charon names them. */
function saNames(o: Outcome): string {
  const parts: string[] = [];
  if (o.ike !== undefined) parts.push(`IKE_SA ${o.ike}${o.ikeId !== undefined ? `[${o.ikeId}]` : ''}`);
  if (o.child !== undefined) parts.push(`CHILD_SA ${o.child}${o.childId !== undefined ? `{${o.childId}}` : ''}`);
  return parts.join(', ');
}

/**
 * initiate / terminate / rekey: the waiting verb, the daemon's log lines of that IKE_SA streamed while it works, as
 * swanctl --initiate prints them (`[IKE] message`; --events: the structured events instead; stdout, stderr with
 * --json so stdout holds the one result object), then the result: exit 0, or 1 with the notify / reason.
 */
export async function waitFor(
  verb: 'initiate' | 'terminate' | 'rekey',
  v: Values,
  args: Record<string, string | undefined>,
): Promise<number> {
  const socket = await socketPath(v);
  if (v['no-wait']) {
    console.log(JSON.stringify(await controlCall(socket, verb, args)));
    return EXIT.ok;
  }
  const timeout = num(v, 'timeout', { min: 0 });
  const level = num(v, 'loglevel', { min: -1, max: 4, int: true });
  if (v.events && level !== undefined) throw new UsageError('--loglevel is for the log lines, not --events');
  if (v.quiet && (v.events || level !== undefined))
    throw new UsageError(`--quiet prints nothing to stream: drop --${v.events ? 'events' : 'loglevel'}`);
  const json = v.json === true;
  const print = (line: string) => (json ? console.error(line) : console.log(line));
  const stream = v.quiet ? 'none' : v.events ? 'events' : 'log';
  let o: Outcome;
  try {
    o = (await controlWait(
      socket,
      `${verb}-wait`,
      {
        ...args,
        timeout: timeout === undefined ? undefined : String(timeout),
        stream,
        loglevel: level === undefined ? undefined : String(level),
      },
      { onLine: (l) => print(`[${l.group}] ${l.message}`), onEvent: (e) => print(formatEventText(e)) },
    )) as Outcome;
  } catch (e) {
    // refused by the daemon (unknown name, nothing to rekey ...): exit 1 like a failed operation
    if (!json || e instanceof NoDaemonError) throw e;
    console.log(JSON.stringify(outcomeJson({ ok: false, reason: (e as Error).message })));
    return EXIT.failed;
  }
  printOutcome(verb, o, json);
  return o.ok ? EXIT.ok : EXIT.failed;
}

/** The result line (stdout; a failure on stderr, as swanctl), or the --json object. */
function printOutcome(verb: string, o: Outcome, json: boolean): void {
  const secs = `${(o.elapsedMs / 1000).toFixed(1)} s`;
  if (json) console.log(JSON.stringify(outcomeJson(o)));
  else if (o.ok) console.log(`${verb} completed successfully: ${saNames(o)}${o.reason ? ` (${o.reason})` : ''}, ${secs}`);
  else {
    // the notify first: what a script greps for (AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN, ...)
    const why = o.notify ? `${o.notify}${o.reason && o.reason !== o.notify ? ` (${o.reason})` : ''}` : (o.reason ?? 'failed');
    console.error(`ikelab: ${verb} failed: ${why} (${saNames(o) || 'no SA'}, after ${secs})`);
  }
}
