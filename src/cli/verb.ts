// What a CLI verb is, and what every verb module shares: the option table type, the exit codes, the errors that
// map to them, the --socket / --config flags and the checked readers of parsed values. The verb families
// (start.ts, lifecycle.ts, sas.ts, ...) build on this; table.ts lists them; ../cli.ts parses and dispatches.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VerbHelp } from '../control/cli-options.js';

// The config loader is loaded when a verb needs it (--config): a control verb starts in a fraction of the time
// (scripts call ikelab in loops; CI hosts are busy).
const loadConfig = async (file: string) => (await import('../config/load.js')).loadConfig(file);

/** The daemon's default daemon.control_socket (src/config/build.ts): --config and --socket are optional. */
export const DEFAULT_SOCKET = join(tmpdir(), 'ikelab.sock');

export const EXIT = { ok: 0, failed: 1, usage: 2, noDaemon: 3 } as const;

/** A command line the CLI refuses: exit 2. */
export class UsageError extends Error {}
/** A failure reported by the CLI itself (list-sas of an unknown name): exit 1. */
export class OpFailed extends Error {}

export interface Flag {
  name: string;
  type: 'string' | 'boolean';
  /** The value's placeholder in the help (string flags). */
  arg?: string;
  help: string;
}

export type Values = Record<string, string | boolean | undefined>;

/** A verb: its help (synopsis: what follows `ikelab NAME` in the usage line; noJson: why it has no --json) and run. */
export interface Verb extends VerbHelp {
  flags: Flag[];
  /** Positional words after the verb (fault's sub-verbs); none unless given. */
  positionals?: boolean;
  run(v: Values, words: string[]): Promise<number>;
}

export const socketFlags: Flag[] = [
  { name: 'socket', type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET})` },
  { name: 'config', type: 'string', arg: 'FILE', help: 'use the daemon.control_socket of this config file' },
];
export const jsonFlag: Flag = { name: 'json', type: 'boolean', help: 'print the result as JSON' };

export const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

export async function socketPath(v: Values): Promise<string> {
  const socket = str(v, 'socket');
  if (socket) return socket;
  const config = str(v, 'config');
  return config ? (await loadConfig(config)).daemon.controlSocket : DEFAULT_SOCKET;
}

/** A numeric flag, checked: a bad value is a usage error naming the flag (exit 2), never NaN sent to the daemon. */
export function num(v: Values, k: string, o: { min: number; max?: number; int?: boolean; minExclusive?: boolean }): number | undefined {
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
