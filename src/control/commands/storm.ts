// Rekey and DPD storms over the control socket: `storm` (kind rekey|dpd, scope all|ike|child for rekey, rate,
// timeout) starts one in the daemon (src/ops/storm.ts) and replies with its first status (the storm's id);
// `storm-status [--id N] [--stop]` returns its progress, or its summary once done. The CLI (storm-cli.ts) polls,
// like load runs: a storm outlives the connection that began it.
import { OpError } from '../../ops/context.js';
import type { StormKind, StormScope } from '../../ops/index.js';
import { type ControlArgs, type ControlCommand, argStr as str } from './command.js';

const flag = (a: ControlArgs, k: string): boolean => a[k] === true || a[k] === 'true';

/** A number argument, checked here too: other clients than the CLI reach the daemon. */
function num(a: ControlArgs, k: string, ok: (n: number) => boolean, expected: string): number | undefined {
  const t = str(a, k);
  if (t === undefined) return undefined;
  const n = Number(t);
  if (t.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new OpError(`invalid --${k} '${t}': expected ${expected}`);
  return n;
}

export const stormCommands: readonly ControlCommand[] = [
  {
    name: 'storm',
    run: ({ daemon }, a) => {
      const kind = str(a, 'kind');
      if (kind !== 'rekey' && kind !== 'dpd') throw new OpError(`storm needs kind rekey or dpd, got '${kind ?? ''}'`);
      const scope = str(a, 'scope');
      if (scope !== undefined && !['all', 'ike', 'child'].includes(scope)) throw new OpError(`invalid scope '${scope}': all, ike or child`);
      const rate = num(a, 'rate', (n) => n >= 0, 'a number > 0 per second, or 0: all at once') ?? 0;
      const timeout = num(a, 'timeout', (n) => n >= 0, 'seconds >= 0 (0: no limit)');
      return daemon.startStorm({
        kind: kind as StormKind,
        scope: scope as StormScope | undefined,
        rate,
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
        ike: str(a, 'ike'),
      });
    },
  },
  {
    name: 'storm-status',
    run: ({ daemon }, a) => {
      const id = num(a, 'id', (n) => Number.isInteger(n) && n >= 1, 'a storm id');
      return flag(a, 'stop') ? daemon.stopStorm(id) : daemon.stormStatus(id);
    },
  },
];
