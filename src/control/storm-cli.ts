// `ikelab rekey --all [--ike-only | --child-only] [--rate R]` and `ikelab dpd --all [--rate R]` (plus --timeout,
// --quiet, --json): start a storm in the daemon (src/ops/storm.ts), show its progress while it goes and its
// summary at the end. As with load runs (load-cli.ts) the daemon paces and counts; this polls `storm-status`, so
// an interrupted CLI leaves the storm going. Progress goes to stderr with --json (stdout: the one summary object).
// Exit 0 when every request succeeded (rekeyed / answered), 1 otherwise.
import type { StormKind, StormStatus } from '../ops/storm.js';
import { controlCall, NoDaemonError } from './client.js';
import { CliUsageError } from './watch-cli.js';

type Values = Record<string, string | boolean | undefined>;

/** The flags `rekey` adds for storms (src/cli/lifecycle.ts spreads them into its table; the shape of its Flag). */
export const REKEY_STORM_FLAGS = [
  { name: 'all', type: 'boolean', help: 'storm: rekey every established IKE_SA (its CHILD_SAs, then itself), paced, with a summary' },
  { name: 'ike-only', type: 'boolean', help: 'with --all: only the IKE_SAs' },
  { name: 'child-only', type: 'boolean', help: 'with --all: only the CHILD_SAs' },
  { name: 'rate', type: 'string', arg: 'PER_SEC', help: 'with --all: rekeys started per second (default: all at once)' },
] as const;

const WORDS: Record<StormKind, { done: string; not: string; latency: string }> = {
  rekey: { done: 'rekeyed', not: 'failed', latency: 'rekey latency' },
  dpd: { done: 'answered', not: 'not answered', latency: 'RTT' },
};

/** --rate, --timeout as the daemon takes them; a bad value is exit 2 naming the flag. */
export function stormArgs(kind: StormKind, v: Values): Record<string, string | undefined> {
  const number = (k: string, expected: string): string | undefined => {
    const t = v[k];
    if (typeof t !== 'string') return undefined;
    const n = Number(t);
    if (t.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliUsageError(`invalid --${k} '${t}': expected ${expected}`);
    return t;
  };
  if (v['ike-only'] && v['child-only']) throw new CliUsageError('--ike-only and --child-only exclude each other');
  return {
    kind,
    scope: kind === 'dpd' ? undefined : v['ike-only'] ? 'ike' : v['child-only'] ? 'child' : 'all',
    rate: number('rate', 'a number > 0 per second, or 0: all at once'),
    timeout: number('timeout', 'seconds >= 0 (0: no limit)'),
    ike: typeof v.ike === 'string' ? v.ike : undefined,
  };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const byReason = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

export function formatStormProgress(s: StormStatus): string {
  const w = WORDS[s.kind];
  return `${s.kind} storm ${s.id}: ${s.succeeded}/${s.count} ${w.done}, ${s.failed} ${w.not}, ${s.inFlight} in flight, ${s.ratePerSec}/s, ${secs(s.elapsedMs)}`;
}

export function formatStormSummary(s: StormStatus): string {
  const w = WORDS[s.kind];
  const what = s.kind === 'dpd' ? 'DPDs' : `rekeys (${s.scope})`;
  const lines = [
    `${s.kind} storm ${s.id}: ${s.count} ${what}, ${s.attempted} attempted, ${s.succeeded} ${w.done}, ${s.failed} ${w.not} in ${secs(s.elapsedMs)} (${s.ratePerSec} ${w.done}/s)`,
  ];
  if (s.kind === 'rekey' && Object.keys(s.attemptedBy).length > 1)
    lines.push(
      `  ${Object.keys(s.attemptedBy)
        .map((t) => `${t} ${s.succeededBy[t] ?? 0}/${s.attemptedBy[t]}`)
        .join(', ')}`,
    );
  if (s.latencyMs)
    lines.push(`  ${w.latency} p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms (min ${s.latencyMs.min}, max ${s.latencyMs.max})`);
  if (s.failed) lines.push(`  ${w.not}: ${byReason(s.failures)}`);
  return lines.join('\n');
}

export const stormOk = (s: StormStatus): boolean => s.done && s.succeeded === s.count;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A storm from the CLI: its exit code. */
export async function stormCommand(socket: string, kind: StormKind, v: Values): Promise<number> {
  const json = v.json === true;
  let s: StormStatus;
  try {
    s = (await controlCall(socket, 'storm', stormArgs(kind, v))) as StormStatus;
  } catch (e) {
    // refused by the daemon (nothing established, ...): exit 1 like a failed storm; --json keeps stdout JSON
    if (!json || e instanceof NoDaemonError || e instanceof CliUsageError) throw e;
    console.log(JSON.stringify({ ok: false, kind, reason: (e as Error).message }));
    return 1;
  }
  const out = json ? process.stderr : process.stdout;
  const tty = out.isTTY === true;
  let interrupted = false;
  const onSig = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSig);
  let lastLine = 0;
  let painted = false;
  try {
    while (!s.done && !interrupted) {
      await sleep(tty ? 500 : 1000);
      s = (await controlCall(socket, 'storm-status', { id: String(s.id) })) as StormStatus;
      if (v.quiet === true || s.done) continue;
      if (tty) {
        out.write(`\r${formatStormProgress(s)}\x1b[K`);
        painted = true;
      } else if (s.elapsedMs - lastLine >= 5000) {
        lastLine = s.elapsedMs;
        out.write(`${formatStormProgress(s)}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSig);
    if (painted) out.write('\r\x1b[K');
  }
  if (json) console.log(JSON.stringify({ ok: stormOk(s), ...s }));
  else {
    console.log(formatStormSummary(s));
    if (interrupted) console.log(`  interrupted: the storm goes on in the daemon (control verb storm-status, id ${s.id})`);
  }
  return stormOk(s) ? 0 : 1;
}
