// `ikelab watch [--json] [--event PREFIX]... [--ike NAME]`: the daemon's structured events as they happen (the
// `watch` verb, commands/watch.ts), until Ctrl-C. Text: one line per event, `time event ike[id] key=value...`;
// --json: each event as the JSON object the daemon sent (one per line).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { IkelabEvent } from '../log/events.js';
import { type CliFlag, CliUsageError, optStr, parseVerbArgs, type VerbHelp } from './cli-options.js';
import { controlWatch, NoDaemonError } from './client.js';

export { CliUsageError };

export const WATCH_USAGE = `  watch [--json] [--event PREFIX]... [--ike NAME] [--config FILE | --socket PATH]
                                      stream the daemon's events (ike.established, notify.received, ...) until Ctrl-C`;

export const WATCH_FLAGS: readonly CliFlag[] = [
  { name: 'json', type: 'boolean', help: 'each event as one JSON object per line (the fields of docs/EVENTS.md)' },
  {
    name: 'event',
    type: 'string',
    arg: 'PREFIX',
    multiple: true,
    help: 'only events whose name starts with PREFIX (ike., child.deleted, ...); repeatable',
  },
  { name: 'ike', type: 'string', arg: 'NAME', help: 'only the events of the IKE_SAs of this connection' },
  { name: 'socket', type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${join(tmpdir(), 'ikelab.sock')})` },
  { name: 'config', type: 'string', arg: 'FILE', help: 'use the daemon.control_socket of this config file' },
];

export const WATCH_HELP: VerbHelp = {
  name: 'watch',
  synopsis: '[--json] [--event PREFIX]... [--ike NAME] [--config FILE | --socket PATH]',
  summary: "stream the daemon's structured events (ike.established, notify.received, ...) until Ctrl-C",
  exits: 'exit codes: 0 stopped with Ctrl-C, 1 the daemon ended the stream, 2 usage error, 3 no daemon listening',
  flags: WATCH_FLAGS,
};

/** Fields already shown in the line's head. */
const HEAD = new Set(['time', 'event', 'ike', 'ikeId']);

/** `12:00:01.234 ike.failed bar[3] notify=AUTHENTICATION_FAILED reason=...` (withTime false: without the time). */
export function formatEventText(e: IkelabEvent, withTime = true): string {
  const head = [withTime ? e.time : '', e.event, e.ike !== undefined ? `${e.ike}${e.ikeId !== undefined ? `[${e.ikeId}]` : ''}` : '']
    .filter(Boolean)
    .join(' ');
  const rest = Object.entries(e)
    .filter(([k, v]) => !HEAD.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
  return [head, ...rest].join(' ');
}

/** --socket PATH, or the control_socket of --config FILE, or the daemon's default (src/config/build.ts). */
export function controlSocketOf(opts: Record<string, string | boolean | string[] | undefined>): string {
  if (typeof opts.socket === 'string') return opts.socket;
  if (typeof opts.config === 'string') return loadConfig(opts.config).daemon.controlSocket;
  return join(tmpdir(), 'ikelab.sock');
}

/** `ikelab watch ...` with its own options; returns the exit code (0 on Ctrl-C, 1 when the daemon ends the stream). */
export async function watchCommand(argv: string[]): Promise<number> {
  let opts: ReturnType<typeof parseVerbArgs>['values'];
  try {
    opts = parseVerbArgs('watch', argv, WATCH_FLAGS).values;
  } catch (e) {
    return usage((e as Error).message);
  }
  const events = (opts.event as string[] | undefined) ?? [];
  let socket: string;
  try {
    socket = controlSocketOf(opts);
  } catch (e) {
    return usage((e as Error).message);
  }
  try {
    const h = await controlWatch(socket, { events: events.length ? events : undefined, ike: optStr(opts, 'ike') }, (e) =>
      console.log(opts.json ? JSON.stringify(e) : formatEventText(e)),
    );
    const stop = new Promise<number>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const)
        process.once(sig, () => {
          h.close();
          resolve(0);
        });
    });
    const ended = h.ended.then((why) => {
      if (why) console.error(`ikelab: ${why.message}`);
      return why ? 1 : 0;
    });
    return await Promise.race([stop, ended]);
  } catch (e) {
    console.error(`ikelab: ${(e as Error).message}`);
    return e instanceof NoDaemonError ? 3 : 1;
  }
}

function usage(msg: string): number {
  console.error(`ikelab: ${msg}\nusage: ikelab${WATCH_USAGE.slice(1)}`);
  return 2;
}
