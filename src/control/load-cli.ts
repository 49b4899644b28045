// `ikelab initiate --count N [--rate R] [--id-pattern P] [--source-pool POOL] [--initial-contact] [--timeout S]
// [--quiet] [--json] [--no-wait]`: start a load run in the daemon (src/ops/load-run.ts), show its progress while it
// goes and its summary at the end. The daemon does the pacing and the counting; this polls `load-status`, so a
// CLI that goes away (Ctrl-C, a lost terminal) never changes the run.
//
// Progress: on a terminal one line rewritten in place (\r) twice a second; otherwise (a CI log) one line every 5 s,
// since a log full of \r-less repaints is unreadable; none with --quiet. It goes to stderr with --json, so stdout
// holds only the one summary object. Exit 0 when every IKE_SA was established, 1 otherwise.
import type { LoadStatus } from '../ops/load-run.js';
import { MAX_LOAD_COUNT, parseSourcePool } from '../ops/load-run.js';
import { formatMixSummary, mixOk, parseMix } from '../ops/load-mix.js';
import { OpError } from '../ops/context.js';
import { controlCall } from './client.js';
import { CliUsageError } from './watch-cli.js';

/** The flags the initiate verb adds for load runs (src/cli/lifecycle.ts spreads them into its table; the shape of its Flag). */
export const LOAD_FLAGS = [
  { name: 'id-pattern', type: 'string', arg: 'PATTERN', help: 'with --count: IDi per SA, %d = its index from 1 (c%d@example.com)' },
  {
    name: 'source-pool',
    type: 'string',
    arg: 'POOL',
    help: 'with --count: source address per SA, A-B or CIDR (each must be in daemon.listen)',
  },
  {
    name: 'max-half-open',
    type: 'string',
    arg: 'N',
    help: "with --count: IKE_SAs connecting at once per source address (default 4, below charon's block_threshold 5; 0: no limit)",
  },
  { name: 'initial-contact', type: 'boolean', help: 'with --count: send INITIAL_CONTACT (default not: the peer would drop the others)' },
  {
    name: 'mix',
    type: 'string',
    arg: 'MIX',
    help: 'with --count: bad peers among the good, exact shares: wrong-psk=5%,no-proposal=2%,no-child-proposal=1%,ts-mismatch=1%,silent-after-auth=1%',
  },
  {
    name: 'mix-seed',
    type: 'string',
    arg: 'N',
    help: "with --mix: the placement's seed (the summary reports the one used): same seed, same SAs",
  },
] as const;

type Values = Record<string, string | boolean | undefined>;

const TTY_EVERY_MS = 500;
const LOG_EVERY_MS = 5000;

const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

function checked(v: Values, k: string, ok: (n: number) => boolean, expected: string): number | undefined {
  const t = str(v, k);
  if (t === undefined) return undefined;
  const n = Number(t);
  if (t.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new CliUsageError(`invalid --${k} '${t}': expected ${expected}`);
  return n;
}

/** The values checked before the daemon is asked: a bad one is exit 2 naming the flag. */
export function loadArgs(v: Values): Record<string, string | boolean | undefined> {
  const count = checked(v, 'count', (n) => Number.isInteger(n) && n >= 1 && n <= MAX_LOAD_COUNT, `an integer 1..${MAX_LOAD_COUNT}`);
  const rate = checked(v, 'rate', (n) => n >= 0, 'a number > 0 per second, or 0: as fast as possible');
  checked(v, 'timeout', (n) => n >= 0, 'seconds >= 0 (0: no limit)');
  const pattern = str(v, 'id-pattern');
  if (pattern !== undefined && !pattern.includes('%d')) throw new CliUsageError(`--id-pattern '${pattern}' needs %d (the SA's index)`);
  const pool = str(v, 'source-pool');
  const mix = str(v, 'mix');
  try {
    if (pool !== undefined) parseSourcePool(pool);
    if (mix !== undefined) parseMix(mix);
  } catch (e) {
    if (e instanceof OpError) throw new CliUsageError(e.message);
    throw e;
  }
  checked(v, 'max-half-open', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0 (0: no limit)');
  const seed = checked(v, 'mix-seed', (n) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff, 'an integer 0..4294967295');
  if (seed !== undefined && mix === undefined) throw new CliUsageError('--mix-seed goes with --mix');
  return {
    count: count === undefined ? '1' : String(count),
    rate: rate === undefined ? undefined : String(rate),
    'id-pattern': pattern,
    'source-pool': pool,
    'initial-contact': v['initial-contact'] === true || undefined,
    timeout: str(v, 'timeout'),
    mix,
    'mix-seed': str(v, 'mix-seed'),
    'max-half-open': str(v, 'max-half-open'),
  };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function formatProgress(s: LoadStatus): string {
  // (waiting: due by the rate, held back by the half-open window; absent from summaries of older daemons)
  const waiting = s.waiting ? `, ${s.waiting} waiting` : '';
  return `${s.ike}: ${s.established}/${s.count} established, ${s.failed} failed, ${s.inFlight} in flight${waiting}, ${s.ratePerSec}/s, ${secs(s.elapsedMs)}`;
}

const byReason = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

export function formatSummary(s: LoadStatus): string {
  const lines = [
    `load run ${s.id} of ${s.ike}: ${s.established} of ${s.count} established, ${s.failed} failed in ${secs(s.elapsedMs)} (${s.ratePerSec} established/s)`,
  ];
  if (s.setupMs) lines.push(`  setup time p50 ${s.setupMs.p50} ms, p99 ${s.setupMs.p99} ms (min ${s.setupMs.min}, max ${s.setupMs.max})`);
  if (s.failed) lines.push(`  failed: ${byReason(s.failures)}`);
  if (Object.keys(s.childFailures).length) lines.push(`  CHILD_SA refused: ${byReason(s.childFailures)}`);
  if (s.lost) lines.push(`  ${s.lost} established IKE_SAs were gone again before the run ended (deleted by the peer?)`);
  lines.push(...formatMixSummary(s));
  return lines.join('\n');
}

/** Every SA came to what was planned for it: established, or with --mix its class's outcome. */
export const loadOk = (s: LoadStatus): boolean =>
  s.done && (s.mixPlanned ? mixOk(s) : s.established === s.count && Object.keys(s.childFailures).length === 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The load run of `initiate --count`: its exit code. `target`: ike / child / overrides as the daemon takes them. */
export async function loadRunCommand(socket: string, v: Values, target: Record<string, string | undefined>): Promise<number> {
  const args = { ...target, ...loadArgs(v) };
  const reply = (await controlCall(socket, 'initiate', args)) as { run: number; status: LoadStatus };
  if (v['no-wait']) {
    console.log(JSON.stringify(reply));
    return 0;
  }
  const json = v.json === true;
  const out = json ? process.stderr : process.stdout;
  const tty = out.isTTY === true;
  const quiet = v.quiet === true;
  let interrupted = false;
  const onSig = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSig);
  let s = reply.status;
  let lastLine = 0;
  let painted = false;
  try {
    for (;;) {
      if (s.done || interrupted) break;
      await sleep(tty ? TTY_EVERY_MS : 1000);
      s = (await controlCall(socket, 'load-status', { id: String(reply.run) })) as LoadStatus;
      if (quiet || s.done) continue;
      if (tty) {
        out.write(`\r${formatProgress(s)}\x1b[K`);
        painted = true;
      } else if (s.elapsedMs - lastLine >= LOG_EVERY_MS) {
        lastLine = s.elapsedMs;
        out.write(`${formatProgress(s)}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSig);
    if (painted) out.write('\r\x1b[K');
  }
  if (json) console.log(JSON.stringify({ ok: loadOk(s), ...s }));
  else {
    console.log(formatSummary(s));
    if (interrupted) console.log(`  interrupted: the run goes on in the daemon (ikelab load-status --id ${s.id} shows it)`);
  }
  return loadOk(s) ? 0 : 1;
}
