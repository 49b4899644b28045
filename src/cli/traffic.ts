// Traffic through the daemon's own ESP engine (src/control/commands/traffic.ts): `ping`, printed as ping(8) does.
import { controlCall } from '../control/client.js';
import { EXIT, num, socketFlags, socketPath, str, UsageError, type Verb } from './verb.js';

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

export const pingVerb: Verb = {
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
};
