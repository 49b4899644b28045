// Load runs over the control socket: `initiate` with a count starts one (lifecycle.ts hands it here) and replies
// with its first status (the run's id); `load-status [--id N] [--stop]` returns its progress, or its summary once
// done. The CLI (load-cli.ts) polls load-status for its progress line: a run outlives the connection that began
// it, so a CLI that is interrupted leaves the run going, and another one can read its summary later.
import { OpError } from '../../ops/context.js';
import type { InitiateOverrides, LoadStatus } from '../../ops/index.js';
import { type ControlApi, type ControlArgs, type ControlCommand, argStr as str } from './command.js';

/** A flag without a value: the CLI sends true, other clients may send the string. */
const flag = (a: ControlArgs, k: string): boolean => a[k] === true || a[k] === 'true';

/** A number argument, checked here too: other clients than the CLI reach the daemon (`--rate -5` was accepted). */
function num(a: ControlArgs, k: string, ok: (n: number) => boolean, expected: string): number | undefined {
  const t = str(a, k);
  if (t === undefined) return undefined;
  const n = Number(t);
  if (t.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new OpError(`invalid --${k} '${t}': expected ${expected}`);
  return n;
}

/** `initiate` with count (any count, 1 included, when a load option is given): a load run. */
export function startLoadRun(daemon: ControlApi, a: ControlArgs, overrides: InitiateOverrides): LoadStatus {
  const count = num(a, 'count', (n) => Number.isInteger(n) && n >= 1 && n <= 100_000, 'an integer 1..100000') ?? 1;
  const rate = num(a, 'rate', (n) => n >= 0, 'a number > 0 per second, or 0: as fast as possible') ?? 0;
  const timeout = num(a, 'timeout', (n) => n >= 0, 'seconds >= 0 (0: no limit)');
  const maxHalfOpen = num(a, 'max-half-open', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0 (0: no limit)');
  const mixSeed = num(a, 'mix-seed', (n) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff, 'an integer 0..4294967295');
  return daemon.startLoad({
    ike: str(a, 'ike'),
    child: str(a, 'child'),
    count,
    rate,
    overrides,
    initialContact: flag(a, 'initial-contact'),
    idPattern: str(a, 'id-pattern'),
    sourcePool: str(a, 'source-pool'),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    mix: str(a, 'mix'),
    mixSeed,
    maxHalfOpen,
  });
}

/** Arguments that make an `initiate` a load run. */
export const LOAD_ARGS = ['count', 'rate', 'id-pattern', 'source-pool', 'initial-contact', 'mix', 'mix-seed', 'max-half-open'] as const;

export const loadCommands: readonly ControlCommand[] = [
  {
    name: 'load-status',
    run: ({ daemon }, a) => {
      const id = num(a, 'id', (n) => Number.isInteger(n) && n >= 1, 'a load run id');
      return flag(a, 'stop') ? daemon.stopLoad(id) : daemon.loadStatus(id);
    },
  },
];
