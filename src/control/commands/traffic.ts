// Traffic through the daemon's own ESP engine: `ping --child NAME --dst ADDRESS [--src --count --size --interval
// --timeout]`.
import { argStr, type ControlCommand } from './command.js';

export const trafficCommands: readonly ControlCommand[] = [
  {
    name: 'ping',
    run: ({ daemon }, a) => {
      const str = (k: string) => argStr(a, k);
      const child = str('child');
      const dst = str('dst');
      if (!child || !dst) throw new Error('ping needs --child NAME and --dst ADDRESS');
      const num = (k: string, d: number) => (str(k) !== undefined ? Number(str(k)) : d);
      const count = num('count', 3);
      const size = num('size', 56);
      if (!(count >= 1 && count <= 10_000) || !(size >= 0 && size <= 65_000)) throw new Error('ping: --count 1..10000, --size 0..65000');
      return daemon.ping({ child, dst, src: str('src'), count, size, intervalMs: num('interval', 200), timeoutMs: num('timeout', 2000) });
    },
  },
];
