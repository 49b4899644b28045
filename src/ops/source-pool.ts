// The source addresses of a load run (`--source-pool`, load-run.ts), one per SA round-robin: checked by the CLI
// before it asks the daemon (load-cli.ts) and expanded by the daemon when the run starts.
import { isIPv4, isIPv6 } from 'node:net';
import { OpError } from './context.js';

/** Pool sizes beyond this are a typo (a /8), not a load test: refused before anything is expanded. */
const MAX_POOL = 65_536;

/** An IPv4 address as a number, or undefined. */
function v4(a: string): number | undefined {
  if (!isIPv4(a)) return undefined;
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
const v4text = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** `10.98.0.10-10.98.0.60`, `10.98.0.0/26` (its host addresses) or single addresses, comma-separated; IPv6 as single addresses. */
export function parseSourcePool(text: string): string[] {
  const bad = (why: string): never => {
    throw new OpError(`invalid --source-pool '${text}': ${why}`);
  };
  const out: string[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const range = /^([^-/]+)-([^-/]+)$/.exec(item);
    const cidr = /^([^/]+)\/(\d+)$/.exec(item);
    let from: number | undefined;
    let to: number | undefined;
    if (range) {
      from = v4(range[1]!);
      to = v4(range[2]!);
      if (from === undefined || to === undefined || to < from) bad(`'${item}' is not an IPv4 range FIRST-LAST`);
    } else if (cidr) {
      const base = v4(cidr[1]!);
      const len = Number(cidr[2]);
      if (base === undefined || len < 8 || len > 32) bad(`'${item}' is not an IPv4 prefix (/8../32)`);
      const size = 2 ** (32 - len);
      const net = Math.floor(base! / size) * size;
      // a /31 or /32 has no network/broadcast address to leave out
      [from, to] = len >= 31 ? [net, net + size - 1] : [net + 1, net + size - 2];
    } else if (isIPv4(item) || isIPv6(item)) {
      out.push(item);
      continue;
    } else bad(`'${item}' is neither an address, a range A-B nor a CIDR`);
    if (out.length + (to! - from!) + 1 > MAX_POOL) bad(`more than ${MAX_POOL} addresses`);
    for (let n = from!; n <= to!; n++) out.push(v4text(n));
  }
  if (!out.length) bad('no addresses');
  return out;
}
