#!/usr/bin/env node
// ikelab's command line. Verbs mirror swanctl's: start (the daemon, foreground), initiate, terminate, rekey,
// list-sas, list-conns, load; plus demo (two peers on loopback, no root), fault, watch, scenario, log-compare.
//
// Parsing: node:util parseArgs, strict, one option table per verb. No dependency (a CLI library would be one more
// package in every install of the daemon), strict (an unknown or misspelt flag is an error naming it, never a
// silently ignored option in a CI script), typed (string or boolean per flag, the values checked here before any
// daemon is asked). scenario, watch and log-compare keep their own parsers (repeatable options, positional files).
//
// Exit codes (README "CLI"): 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon. The exit code
// is set, never forced right after a write: stdout may be a pipe still draining (list-sas --json of many SAs).
import { readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dhChoiceForms, parseDhChoice } from './config/dh-choice.js';
import { ConfigError } from './config/errors.js';
import { controlCall, controlWait, NoDaemonError } from './control/client.js';
import type { ConfigSummary } from './control/commands/config.js';
import { FAULT_USAGE, faultCommand, FaultUsageError } from './control/fault-cli.js';
import { formatProgress, formatSummary, LOAD_FLAGS, loadOk, loadRunCommand } from './control/load-cli.js';
import { formatSasText, type SaJson } from './control/sa-json.js';
import { REKEY_STORM_FLAGS, stormCommand } from './control/storm-cli.js';
import type { VerbHelp } from './control/cli-options.js';
import { CliUsageError, formatEventText, WATCH_HELP, WATCH_USAGE, watchCommand } from './control/watch-cli.js';
import type { LoadStatus } from './ops/load-run.js';
import type { Outcome } from './ops/outcome.js';
import { type InitiateOverrideText, OVERRIDE_FLAGS, parseOverrides } from './ops/overrides.js';
import { formatLoadReport, type LoadReport } from './ops/reload.js';

// The daemon, the demo, the scenario runner, the converter and the config loader are loaded when a verb needs
// them: a control verb starts in a fraction of the time (scripts call ikelab in loops; CI hosts are busy).
const loadConfig = async (file: string) => (await import('./config/load.js')).loadConfig(file);

/** The daemon's default daemon.control_socket (src/config/build.ts): --config and --socket are optional. */
const DEFAULT_SOCKET = join(tmpdir(), 'ikelab.sock');

const EXIT = { ok: 0, failed: 1, usage: 2, noDaemon: 3 } as const;

/** A command line the CLI refuses: exit 2. */
class UsageError extends Error {}
/** A failure reported by the CLI itself (list-sas of an unknown name): exit 1. */
class OpFailed extends Error {}

interface Flag {
  name: string;
  type: 'string' | 'boolean';
  /** The value's placeholder in the help (string flags). */
  arg?: string;
  help: string;
}

export type { VerbHelp };

type Values = Record<string, string | boolean | undefined>;

/** A verb: its help (synopsis: what follows `ikelab NAME` in the usage line; noJson: why it has no --json) and run. */
interface Verb extends VerbHelp {
  flags: Flag[];
  /** Positional words after the verb (fault's sub-verbs); none unless given. */
  positionals?: boolean;
  run(v: Values, words: string[]): Promise<number>;
}

const socketFlags: Flag[] = [
  { name: 'socket', type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET})` },
  { name: 'config', type: 'string', arg: 'FILE', help: 'use the daemon.control_socket of this config file' },
];
const jsonFlag: Flag = { name: 'json', type: 'boolean', help: 'print the result as JSON' };
const waitFlags: Flag[] = [
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
const targetFlags = (verb: string): Flag[] => [
  { name: 'child', type: 'string', arg: 'NAME', help: `the CHILD_SA to ${verb} (name, or unique id)` },
  { name: 'ike', type: 'string', arg: 'NAME', help: `the IKE_SA to ${verb} (connection name, or unique id)` },
];

const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

async function socketPath(v: Values): Promise<string> {
  const socket = str(v, 'socket');
  if (socket) return socket;
  const config = str(v, 'config');
  return config ? (await loadConfig(config)).daemon.controlSocket : DEFAULT_SOCKET;
}

/** A numeric flag, checked: a bad value is a usage error naming the flag (exit 2), never NaN sent to the daemon. */
function num(v: Values, k: string, o: { min: number; max?: number; int?: boolean; minExclusive?: boolean }): number | undefined {
  const t = str(v, k);
  if (t === undefined) return undefined;
  const n = Number(t);
  const ok =
    t.trim() !== '' &&
    Number.isFinite(n) &&
    (o.minExclusive ? n > o.min : n >= o.min) &&
    (o.max === undefined || n <= o.max) &&
    (!o.int || Number.isInteger(n));
  if (!ok) {
    const range = `${o.int ? 'an integer' : 'a number'} ${o.minExclusive ? `> ${o.min}` : `>= ${o.min}`}${o.max !== undefined ? ` and <= ${o.max}` : ''}`;
    throw new UsageError(`invalid --${k} '${t}': expected ${range}`);
  }
  return n;
}

/** initiate's overrides from the command line; syntax checked here (the daemon checks what its engine runs). */
function initiateOverrides(v: Values): Record<string, string> {
  const out: Record<string, string> = {};
  const text: InitiateOverrideText = {};
  for (const [key, flag] of Object.entries(OVERRIDE_FLAGS) as [keyof InitiateOverrideText, string][]) {
    const value = str(v, flag.slice(2));
    if (value === undefined) continue;
    text[key] = value;
    out[flag.slice(2)] = value;
  }
  try {
    parseOverrides(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return out;
}

/** The summary ping(8) prints. */
function formatPing(dst: string, child: string, size: number, r: { sent: number; received: number; rttsMs: number[] }): string {
  const lines = [`PING ${dst} through CHILD_SA ${child}: ${size} data bytes`];
  r.rttsMs.forEach((t, i) => lines.push(`${size + 8} bytes from ${dst}: time=${t.toFixed(3)} ms (reply ${i + 1})`));
  const loss = r.sent ? Math.round((100 * (r.sent - r.received)) / r.sent) : 0;
  lines.push(`--- ${dst} ping statistics ---`, `${r.sent} packets transmitted, ${r.received} received, ${loss}% packet loss`);
  if (r.rttsMs.length) {
    const min = Math.min(...r.rttsMs),
      max = Math.max(...r.rttsMs),
      avg = r.rttsMs.reduce((a, b) => a + b, 0) / r.rttsMs.length;
    lines.push(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`);
  }
  return lines.join('\n');
}

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
async function waitFor(verb: 'initiate' | 'terminate' | 'rekey', v: Values, args: Record<string, string | undefined>): Promise<number> {
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
  const secs = `${(o.elapsedMs / 1000).toFixed(1)} s`;
  if (json) console.log(JSON.stringify(outcomeJson(o)));
  else if (o.ok) console.log(`${verb} completed successfully: ${saNames(o)}${o.reason ? ` (${o.reason})` : ''}, ${secs}`);
  else {
    // the notify first: what a script greps for (AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN, ...)
    const why = o.notify ? `${o.notify}${o.reason && o.reason !== o.notify ? ` (${o.reason})` : ''}` : (o.reason ?? 'failed');
    console.error(`ikelab: ${verb} failed: ${why} (${saNames(o) || 'no SA'}, after ${secs})`);
  }
  return o.ok ? EXIT.ok : EXIT.failed;
}

const VERBS: Verb[] = [
  {
    name: 'start',
    synopsis: '--config FILE',
    summary: 'run the daemon in the foreground (charon-style log on stdout)',
    noJson: 'runs the daemon: its output is the log (daemon.log.json writes it as JSON lines)',
    flags: [{ name: 'config', type: 'string', arg: 'FILE', help: 'the configuration (YAML, swanctl-like keys)' }],
    run: async (v) => {
      const file = str(v, 'config');
      if (!file) throw new UsageError('start needs --config FILE');
      // load checks, banner, signals, exit codes: run-daemon.ts
      const { startCommand } = await import('./run-daemon.js');
      return startCommand(file);
    },
  },
  {
    name: 'demo',
    synopsis: '',
    summary: 'two ikelab peers on 127.0.0.1 / 127.0.0.2 bring a tunnel up and down',
    noJson: 'a narrated walk-through for a first look, no data',
    flags: [],
    run: async () => (await import('./demo.js')).runDemo(),
  },
  {
    name: 'initiate',
    synopsis:
      '(--child NAME | --ike NAME) [--timeout SECONDS] [--quiet | --loglevel N | --events] [--json] [overrides] [--count N [--rate PER_SEC]]',
    summary:
      'bring a CHILD_SA (its IKE_SA first if none is up) or an IKE_SA up and wait for the result, like swanctl --initiate:\n' +
      'exit 0 once established, 1 with the notify the peer refused with (AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN,\n' +
      "TS_UNACCEPTABLE, ...) or 'peer not responding'. A CHILD_SA already installed is success at once.",
    flags: [
      ...targetFlags('initiate'),
      ...waitFlags,
      { name: 'psk', type: 'string', arg: 'SECRET', help: 'override: the PSK of a new IKE_SA (this initiation only)' },
      { name: 'proposals', type: 'string', arg: 'LIST', help: 'override: IKE proposals of a new IKE_SA (comma-separated, swanctl syntax)' },
      { name: 'esp-proposals', type: 'string', arg: 'LIST', help: 'override: ESP proposals of a new CHILD_SA' },
      { name: 'local-ts', type: 'string', arg: 'LIST', help: 'override: local traffic selectors of a new CHILD_SA' },
      { name: 'remote-ts', type: 'string', arg: 'LIST', help: 'override: remote traffic selectors of a new CHILD_SA' },
      { name: 'count', type: 'string', arg: 'N', help: 'load test: N more IKE_SAs of that connection, progress and summary (1..100000)' },
      { name: 'rate', type: 'string', arg: 'PER_SEC', help: 'with --count: initiations per second (default: all at once)' },
      ...LOAD_FLAGS,
      ...socketFlags,
    ],
    run: async (v) => {
      if (!str(v, 'child') && !str(v, 'ike')) throw new UsageError('initiate needs --child NAME or --ike NAME');
      const overrides = initiateOverrides(v);
      const count = num(v, 'count', { min: 1, max: 100_000, int: true });
      const rate = num(v, 'rate', { min: 0 });
      if (rate !== undefined && count === undefined) throw new UsageError('--rate goes with --count N');
      for (const f of LOAD_FLAGS)
        if (v[f.name] !== undefined && count === undefined) throw new UsageError(`--${f.name} goes with --count N`);
      const args = { child: str(v, 'child'), ike: str(v, 'ike'), ...overrides };
      if (count !== undefined) {
        for (const f of ['loglevel', 'events'])
          if (v[f] !== undefined) throw new UsageError(`--${f} streams the wait for one SA, not a load run (--count)`);
        // a load run: progress while it goes, the summary at the end (control/load-cli.ts)
        return loadRunCommand(await socketPath(v), v, args);
      }
      return waitFor('initiate', v, args);
    },
  },
  {
    name: 'terminate',
    synopsis: '(--ike NAME | --child NAME) [--timeout SECONDS] [--quiet | --loglevel N | --events] [--json]',
    summary: 'delete an IKE_SA (with its CHILD_SAs) or a CHILD_SA and wait until it is gone, like swanctl --terminate',
    flags: [...targetFlags('terminate'), ...waitFlags, ...socketFlags],
    run: async (v) => {
      if (!str(v, 'child') && !str(v, 'ike')) throw new UsageError('terminate needs --ike NAME or --child NAME');
      return waitFor('terminate', v, { child: str(v, 'child'), ike: str(v, 'ike') });
    },
  },
  {
    name: 'rekey',
    synopsis:
      '(--ike NAME | --child NAME [--dh none|GROUP]) [--timeout SECONDS] [--quiet | --loglevel N | --events] [--json]\n' +
      '       | --all [--ike-only | --child-only] [--rate PER_SEC] [--timeout SECONDS] [--quiet] [--json]',
    summary:
      'rekey an IKE_SA or CHILD_SA and wait until it was replaced (exit 1 with the notify of a refused rekey);\n' +
      '--all: a rekey storm over every established IKE_SA, paced, then attempted, rekeyed, failed by reason, rate, p50/p99',
    flags: [
      ...targetFlags('rekey'),
      { name: 'dh', type: 'string', arg: 'none|GROUP', help: 'the next rekey of that CHILD_SA only: no PFS (none) or only GROUP' },
      ...waitFlags,
      ...REKEY_STORM_FLAGS,
      ...socketFlags,
    ],
    run: async (v) => {
      if (v.all) {
        for (const k of ['ike', 'child', 'dh', 'loglevel', 'events', 'no-wait'])
          if (v[k] !== undefined) throw new UsageError(`--${k} does not go with --all (a storm over every established IKE_SA)`);
        return stormCommand(await socketPath(v), 'rekey', v);
      }
      for (const f of REKEY_STORM_FLAGS) if (v[f.name] !== undefined) throw new UsageError(`--${f.name} goes with --all`);
      if (!str(v, 'child') && !str(v, 'ike')) throw new UsageError('rekey needs --child NAME, --ike NAME or --all');
      const dh = str(v, 'dh');
      if (dh !== undefined) {
        if (!str(v, 'child') || str(v, 'ike')) throw new UsageError('--dh goes with rekey --child NAME only');
        if (parseDhChoice(dh) === undefined) throw new UsageError(`invalid --dh '${dh}': use ${dhChoiceForms()}`);
      }
      return waitFor('rekey', v, { child: str(v, 'child'), ike: str(v, 'ike'), dh });
    },
  },
  {
    name: 'dpd',
    synopsis: '--all [--rate PER_SEC] [--timeout SECONDS] [--quiet] [--json]',
    summary: 'a DPD storm: one liveness check (empty INFORMATIONAL) per established IKE_SA, paced; answered, not answered, p50/p99 RTT',
    flags: [
      { name: 'all', type: 'boolean', help: 'every established IKE_SA (required: no other selection yet)' },
      { name: 'rate', type: 'string', arg: 'PER_SEC', help: 'DPDs sent per second (default: all at once)' },
      {
        name: 'timeout',
        type: 'string',
        arg: 'SECONDS',
        help: 'count what has no answer by then as failed (default: pacing + retransmits + 5 s)',
      },
      { name: 'quiet', type: 'boolean', help: 'no progress line' },
      jsonFlag,
      ...socketFlags,
    ],
    run: async (v) => {
      if (!v.all) throw new UsageError('dpd needs --all');
      return stormCommand(await socketPath(v), 'dpd', v);
    },
  },
  {
    name: 'list-sas',
    synopsis: '[--ike NAME] [--child NAME] [--json]',
    summary: 'the IKE_SAs and CHILD_SAs (swanctl --list-sas); a name that is not configured is an error (exit 1)',
    flags: [
      { name: 'ike', type: 'string', arg: 'NAME', help: 'only the IKE_SAs of this connection (or this unique id)' },
      { name: 'child', type: 'string', arg: 'NAME', help: 'only CHILD_SAs of this name (and their IKE_SAs)' },
      jsonFlag,
      ...socketFlags,
    ],
    run: async (v) => {
      const socket = await socketPath(v);
      const ike = str(v, 'ike');
      const child = str(v, 'child');
      let sas = (await controlCall(socket, 'list-sas')) as SaJson[];
      if (ike !== undefined || child !== undefined) {
        const cfg = (await controlCall(socket, 'config')) as ConfigSummary;
        const isId = (n: string, id: number) => /^\d+$/.test(n) && Number(n) === id;
        if (ike !== undefined && !cfg.connections.some((c) => c.name === ike) && !sas.some((s) => s.name === ike || isId(ike, s.uniqueId)))
          throw new OpFailed(
            `no connection or IKE_SA named '${ike}' (configured: ${cfg.connections.map((c) => c.name).join(', ') || 'none'})`,
          );
        const children = cfg.connections.flatMap((c) => c.children);
        if (
          child !== undefined &&
          !children.includes(child) &&
          !sas.some((s) => s.children.some((c) => c.name === child || isId(child, c.uniqueId)))
        )
          throw new OpFailed(`no child or CHILD_SA named '${child}' (configured: ${[...new Set(children)].join(', ') || 'none'})`);
        sas = sas.filter((s) => ike === undefined || s.name === ike || isId(ike, s.uniqueId));
        if (child !== undefined)
          sas = sas
            .map((s) => ({ ...s, children: s.children.filter((c) => c.name === child || isId(child, c.uniqueId)) }))
            .filter((s) => s.children.length > 0);
      }
      if (v.json) console.log(JSON.stringify(sas, null, 2));
      else if (sas.length) console.log(formatSasText(sas));
      return EXIT.ok;
    },
  },
  {
    name: 'list-conns',
    synopsis: '[--json]',
    summary: "the connections of the daemon's loaded configuration and their children",
    flags: [jsonFlag, ...socketFlags],
    run: async (v) => {
      const cfg = (await controlCall(await socketPath(v), 'config')) as ConfigSummary;
      if (v.json) console.log(JSON.stringify(cfg, null, 2));
      else {
        const lines = [`loaded from ${cfg.file}`];
        for (const c of cfg.connections) lines.push(`${c.name}: children ${c.children.join(', ') || 'none'}`);
        console.log(lines.join('\n'));
      }
      return EXIT.ok;
    },
  },
  {
    name: 'load-status',
    synopsis: '[--id N] [--json]',
    summary:
      "a load run's progress, or its summary once done (initiate --count N starts one; the daemon keeps finished\n" +
      "runs, so an interrupted CLI can read the result later); exit 0 when printed, whatever the run's outcome",
    flags: [
      { name: 'id', type: 'string', arg: 'N', help: 'the run, by the id initiate --count printed (default: the newest)' },
      { name: 'json', type: 'boolean', help: 'the status as one JSON object, {ok, ...} as initiate --count --json prints it' },
      ...socketFlags,
    ],
    run: async (v) => {
      const id = num(v, 'id', { min: 1, int: true });
      const s = (await controlCall(await socketPath(v), 'load-status', {
        id: id === undefined ? undefined : String(id),
      })) as LoadStatus;
      if (v.json) console.log(JSON.stringify({ ok: loadOk(s), ...s }));
      else console.log(s.done ? formatSummary(s) : `load run ${s.id} running: ${formatProgress(s)}`);
      return EXIT.ok;
    },
  },
  {
    name: 'load',
    synopsis: '[--config FILE] [--apply-to-rekey] [--json]',
    summary: 'reload the configuration; prints what changed and what happens to live SAs',
    flags: [
      { name: 'config', type: 'string', arg: 'FILE', help: "the file to load (default: the daemon's own); its control_socket is used" },
      { name: 'socket', type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET})` },
      { name: 'apply-to-rekey', type: 'boolean', help: 'live CHILD_SAs of a changed child take it at their next rekey' },
      jsonFlag,
    ],
    run: async (v) => {
      const r = (await controlCall(await socketPath(v), 'load', {
        config: str(v, 'config'),
        'apply-to-rekey': v['apply-to-rekey'] === true || undefined,
      })) as { loaded: string; connections: string[] } & LoadReport;
      if (v.json) console.log(JSON.stringify(r));
      else console.log(`loaded ${r.loaded}: connections ${r.connections.join(', ') || 'none'}\n${formatLoadReport(r)}`);
      return EXIT.ok;
    },
  },
  {
    name: 'load-merge',
    synopsis: 'FILE... [--json]',
    summary:
      'merge the summaries of load runs (initiate --count N --json) of several processes: counts, reasons, percentiles,\nrate over the union of their time spans; a FILE may be a log with IKELAB_LOAD_SUMMARY lines, - is stdin;\nexit 1 when not every SA of every run came up',
    flags: [jsonFlag],
    positionals: true,
    run: async (v, files) => {
      if (!files.length) throw new UsageError('load-merge needs at least one FILE (the JSON of initiate --count N --json)');
      const m = await import('./ops/load-summary-command.js');
      try {
        return m.loadMergeCommand(files, v.json === true);
      } catch (e) {
        // a malformed summary is bad input, like a bad config: exit 2 naming the file, without the usage text
        if (!(e instanceof m.LoadSummaryError)) throw e;
        console.error(`ikelab: ${e.message}`);
        return EXIT.usage;
      }
    },
  },
  {
    name: 'stats',
    synopsis: '[--json]',
    summary: "the daemon's counters (always JSON; --json accepted for uniformity)",
    flags: [jsonFlag, ...socketFlags],
    run: async (v) => {
      console.log(JSON.stringify(await controlCall(await socketPath(v), 'stats'), null, 2));
      return EXIT.ok;
    },
  },
  {
    name: 'ping',
    synopsis: '--child NAME --dst ADDR [--src ADDR] [--count N] [--size BYTES] [--interval MS] [--json]',
    summary: "ICMP echo through the CHILD_SA from ikelab's virtual host; exit 1 when a reply is missing",
    flags: [
      { name: 'child', type: 'string', arg: 'NAME', help: 'the CHILD_SA to send through' },
      { name: 'dst', type: 'string', arg: 'ADDR', help: 'destination address' },
      { name: 'src', type: 'string', arg: 'ADDR', help: 'source address (default: from the local traffic selector)' },
      { name: 'count', type: 'string', arg: 'N', help: 'echo requests, 1..10000 (default 3)' },
      { name: 'size', type: 'string', arg: 'BYTES', help: 'data bytes, 0..65000 (default 56)' },
      { name: 'interval', type: 'string', arg: 'MS', help: 'between requests (default 200)' },
      { name: 'json', type: 'boolean', help: 'print {sent, received, rttsMs} as JSON' },
      ...socketFlags,
    ],
    run: async (v) => {
      const dst = str(v, 'dst');
      const child = str(v, 'child');
      if (!child || !dst) throw new UsageError('ping needs --child NAME and --dst ADDRESS');
      const count = num(v, 'count', { min: 1, max: 10_000, int: true }) ?? 3;
      const size = num(v, 'size', { min: 0, max: 65_000, int: true }) ?? 56;
      const interval = num(v, 'interval', { min: 0, minExclusive: true });
      const r = (await controlCall(
        await socketPath(v),
        'ping',
        {
          child,
          dst,
          src: str(v, 'src'),
          count: String(count),
          size: String(size),
          interval: interval === undefined ? undefined : String(interval),
        },
        120_000,
      )) as { sent: number; received: number; rttsMs: number[] };
      console.log(v.json ? JSON.stringify(r) : formatPing(dst, child, size, r));
      return r.received === r.sent ? EXIT.ok : EXIT.failed;
    },
  },
  {
    name: 'ipsec-sa',
    synopsis: '[--json]',
    summary: "IOS-like 'show crypto ipsec sa': per flow its counters (summed across rekeys) and ESP SAs",
    flags: [{ name: 'json', type: 'boolean', help: 'the flows as JSON (counters, SPIs, transforms)' }, ...socketFlags],
    run: async (v) => {
      const socket = await socketPath(v);
      if (v.json) console.log(JSON.stringify(await controlCall(socket, 'ipsec-sa', { json: true }), null, 2));
      else console.log(await controlCall(socket, 'ipsec-sa'));
      return EXIT.ok;
    },
  },
  {
    name: 'fault',
    synopsis: 'add|list|clear|impair ... | --mode silent|delay|normal',
    summary: 'fault rules in the running daemon',
    more: FAULT_USAGE,
    positionals: true,
    flags: [
      { name: 'match', type: 'string', arg: 'CRITERIA', help: 'fault add: which messages' },
      { name: 'action', type: 'string', arg: 'ACTION', help: 'fault add: what to do with them' },
      { name: 'count', type: 'string', arg: 'N', help: 'fault add: how often' },
      { name: 'name', type: 'string', arg: 'NAME', help: 'fault add: the rule name' },
      { name: 'mode', type: 'string', arg: 'MODE', help: 'silent | delay | normal' },
      { name: 'ms', type: 'string', arg: 'N', help: 'with --mode delay: hold inbound messages N ms' },
      { name: 'ike', type: 'string', arg: 'NAME', help: 'with --mode: only this connection' },
      { name: 'json', type: 'boolean', help: 'the result as JSON (fault list: the rules; add, impair: the rules added; clear: the names)' },
      ...socketFlags,
    ],
    run: async (v, words) => {
      const opts: Record<string, string | boolean> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) opts[k] = x;
      return faultCommand(words, opts, await socketPath(v));
    },
  },
];

interface OwnParser {
  /** Its lines in the overview. */
  usage: string;
  /** Its --help: one entry, or one per sub-verb (scenario list|show|run), from the tables its parser uses. */
  help: readonly VerbHelp[];
  run(argv: string[]): number | Promise<number>;
}

/** Verbs with their own parsers, loaded on use: their usage texts, help entries and entry points. */
const OWN_PARSERS: Record<string, () => Promise<OwnParser>> = {
  watch: async () => ({ usage: WATCH_USAGE, help: [WATCH_HELP], run: watchCommand }),
  scenario: async () => {
    const m = await import('./scenario/cli.js');
    return { usage: m.SCENARIO_USAGE, help: m.SCENARIO_HELP, run: m.scenarioCommand };
  },
  'log-compare': async () => {
    const m = await import('./log/compare-command.js');
    return { usage: m.LOG_COMPARE_USAGE, help: [m.LOG_COMPARE_HELP], run: m.logCompareCommand };
  },
  convert: async () => {
    const m = await import('./config/swanctl/cli.js');
    return { usage: m.CONVERT_USAGE, help: [m.CONVERT_HELP], run: m.convertCommand };
  },
};

/** Every verb's help entry, the own parsers' sub-verbs included: what `--help` prints and the tests walk. */
export async function helpEntries(): Promise<{ entry: VerbHelp; takesWords: boolean }[]> {
  const own = await Promise.all(Object.values(OWN_PARSERS).map((load) => load()));
  return [
    ...VERBS.map((v) => ({ entry: v as VerbHelp, takesWords: v.positionals === true })),
    ...own.flatMap((o) => o.help.map((entry) => ({ entry, takesWords: true }))),
  ];
}

const usageLine = (v: VerbHelp): string => `ikelab ${v.name}${v.synopsis ? ` ${v.synopsis}` : ''}`;

const overview = async (): Promise<string> => `usage: ikelab <verb> [options]        (ikelab <verb> --help: that verb's options)
${VERBS.filter((v) => v.name !== 'fault')
  .map((v) => `  ${usageLine(v).slice('ikelab '.length)}\n      ${v.summary.split('\n').join('\n      ')}`)
  .join('\n')}
${FAULT_USAGE}
${WATCH_USAGE}
${(await OWN_PARSERS.scenario!()).usage}
${(await OWN_PARSERS['log-compare']!()).usage}
${(await OWN_PARSERS.convert!()).usage}
  --help, -h | --version
common options: --socket PATH (default ${DEFAULT_SOCKET}) or --config FILE (its daemon.control_socket)
exit codes: 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon listening`;

/** `ikelab VERB --help`: the usage line, what it does, every flag (a repeatable one marked). */
export function verbHelp(v: VerbHelp): string {
  const rows = [
    ...v.flags.map((f) => [`--${f.name}${f.arg ? ` ${f.arg}` : ''}${f.multiple ? ' ...' : ''}`, f.help]),
    ['-h, --help', 'this text'],
  ];
  const width = Math.max(...rows.map(([a]) => a!.length));
  return [
    `usage: ${usageLine(v)}`,
    ...v.summary.split('\n').map((l) => `  ${l}`),
    ...(v.more ? [v.more] : []),
    'options:',
    ...rows.map(([a, h]) => `  ${a!.padEnd(width)}  ${h}`),
    v.exits ?? 'exit codes: 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon listening',
  ].join('\n');
}

/** The help for `ikelab WORDS... --help`: a verb's, or an own-parser verb's (one sub-verb's when named: scenario run). */
async function helpFor(words: string[]): Promise<string | undefined> {
  const [name, sub] = words;
  const verb = VERBS.find((x) => x.name === name);
  if (verb) return verbHelp(verb);
  const load = name !== undefined ? OWN_PARSERS[name] : undefined;
  if (!load) return undefined;
  const { help } = await load();
  const one = help.find((h) => h.name === `${name} ${sub}`);
  return (one ? [one] : help).map(verbHelp).join('\n\n');
}

function version(): string {
  // dist/cli.js and src/cli.ts both sit one level below package.json
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** parseArgs' errors (ERR_PARSE_ARGS_*) as the CLI says them: naming the flag. */
function parseError(verb: string, e: Error & { code?: string }): UsageError {
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
  const flag = quoted.split(' ')[0]!;
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`${verb}: unknown option '${flag}'`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`${verb}: unexpected argument '${flag}'`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(e.message)) return new UsageError(`${flag} needs a value`);
      if (/ambiguous/.test(e.message)) return new UsageError(`${flag} needs a value (one starting with '-': ${flag}=VALUE)`);
      if (/does not take an argument/.test(e.message)) return new UsageError(`${flag} takes no value`);
      return new UsageError(e.message);
    default:
      return new UsageError(e.message);
  }
}

/** The verb being run, for the usage line of an error. */
let current: Verb | undefined;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.error(await overview());
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log((await helpFor(rest)) ?? (await overview()));
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    console.log(version());
    return EXIT.ok;
  }
  const own = OWN_PARSERS[first] ? await OWN_PARSERS[first]() : undefined;
  if (own) {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(await helpFor([first, ...rest]));
      return EXIT.ok;
    }
    return own.run(rest);
  }
  const verb = VERBS.find((x) => x.name === first);
  if (!verb) throw new UsageError(first.startsWith('-') ? `unknown option '${first}' (a verb comes first)` : `unknown verb '${first}'`);
  current = verb;
  const options = Object.fromEntries([
    ...verb.flags.map((f) => [f.name, { type: f.type }] as const),
    ['help', { type: 'boolean', short: 'h' }] as const,
  ]);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: verb.positionals === true }) as typeof parsed;
  } catch (e) {
    throw parseError(verb.name, e as Error & { code?: string });
  }
  if (parsed.values.help) {
    console.log(verbHelp(verb));
    return EXIT.ok;
  }
  return verb.run(parsed.values, parsed.positionals);
}

/** Exit code and message of an error main() threw. */
async function report(e: unknown): Promise<number> {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof UsageError || e instanceof FaultUsageError || e instanceof CliUsageError) {
    console.error(`ikelab: ${msg}\n${current ? `usage: ${usageLine(current)}  (ikelab ${current.name} --help)` : await overview()}`);
    return EXIT.usage;
  }
  console.error(`ikelab: ${msg}`);
  if (e instanceof ConfigError) return EXIT.usage;
  if (e instanceof NoDaemonError) return EXIT.noDaemon;
  return EXIT.failed;
}

/**
 * Sets the exit code and lets the event loop end, so stdout (perhaps a pipe a reader drains slowly) is written out
 * in full. A handle a verb left open must not keep the CLI alive: once both streams flushed, an unref'd timer ends it.
 */
function finish(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => setTimeout(() => process.exit(), 2000).unref()));
}

/**
 * Run as the program (the bin link, `node dist/cli.js`), not when imported: the tests read the verb tables
 * (helpEntries). The bin is a symlink, and Node runs a main module under its real path.
 */
function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) main(process.argv.slice(2)).then(finish, (e) => report(e).then(finish));
