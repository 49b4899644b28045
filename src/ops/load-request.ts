// What a load run (load-run.ts) is asked for, and the checks made before anything starts: a bad request is an
// OpError naming the option, and nothing of it is initiated. Also what the checks resolve once for the whole run:
// the connection, the source pool's addresses, the secret of an --id-pattern, the failure mix.
import { findPsk } from '../config/secrets.js';
import type { ConnectionConfig } from '../config/types.js';
import { randomInt } from '../crypto/random.js';
import { OpError, type OpsContext } from './context.js';
import { classOverrides, parseMix } from './load-mix.js';
import { MixTracker } from './load-mix-tracker.js';
import { targetConnection } from './lookup.js';
import { hasOverrides, type InitiateOverrides } from './overrides.js';
import { parseSourcePool } from './source-pool.js';

export const MAX_LOAD_COUNT = 100_000;

export interface LoadRequest {
  ike?: string;
  child?: string;
  count: number;
  /** Initiations per second; 0: all at once. */
  rate: number;
  overrides?: InitiateOverrides;
  /** Send INITIAL_CONTACT as a plain initiate would (default: not on load SAs). */
  initialContact?: boolean;
  /** IDi per SA: `%d` is the SA's index in the run, from 1 (`c%d@example.com`). */
  idPattern?: string;
  /** Source addresses, one per SA round-robin: `A-B` (a range), a CIDR, or a comma-separated list of those. */
  sourcePool?: string;
  /** The whole run, ms; what is not established by then counts as failed ('timeout'). Default: pacing + 2 give-ups + 5 s. */
  timeoutMs?: number;
  /** Failure mix, `wrong-psk=5%,no-proposal=2%,silent-after-auth=1%` (load-mix.ts). */
  mix?: string;
  /** Seed of the mix's placement (0..2^32-1); default: drawn from the daemon's RandomSource, reported in the status. */
  mixSeed?: number;
  /** IKE_SAs connecting at once per source address (DEFAULT_MAX_HALF_OPEN); 0: no window, the rate alone paces. */
  maxHalfOpen?: number;
}

/** A request that passed the checks, resolved. */
export interface CheckedLoad {
  conn: ConnectionConfig;
  /** The source addresses, all bound ([]: the connection's own). */
  pool: string[];
  /** The configured identity's secret, for the identities of an --id-pattern. */
  psk: Buffer | undefined;
  /** The request's overrides, undefined when they override nothing. */
  overrides: InitiateOverrides | undefined;
}

/** Checks a request (all but its mix: mixTracker, which needs the run's id) and resolves what the run needs. */
export function checkLoadRequest(ctx: OpsContext, req: LoadRequest): CheckedLoad {
  const conn = targetConnection(ctx, req.ike, req.child);
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_LOAD_COUNT)
    throw new OpError(`--count must be an integer 1..${MAX_LOAD_COUNT}`);
  if (!Number.isFinite(req.rate) || req.rate < 0) throw new OpError('--rate must be > 0 initiations per second, or 0: as fast as possible');
  if (req.timeoutMs !== undefined && !(Number.isFinite(req.timeoutMs) && req.timeoutMs >= 0))
    throw new OpError('--timeout must be >= 0 seconds');
  if (!conn.remoteAddrs.some((a) => a !== '%any')) throw new OpError(`connection '${conn.name}' has no remote address to initiate to`);
  if (req.idPattern !== undefined && !req.idPattern.includes('%d'))
    throw new OpError(`--id-pattern '${req.idPattern}' has no %d: every SA would get the same identity`);
  const pool = req.sourcePool === undefined ? [] : parseSourcePool(req.sourcePool);
  if (pool.length) {
    // Sending from a chosen address needs a socket bound to it: through a wildcard socket the kernel picks the
    // source (Node's dgram has no IP_PKTINFO), and replies would be reported as arriving on 0.0.0.0.
    const bound = ctx.bound() ?? ctx.config().daemon.listen;
    const missing = pool.filter((a) => !bound.includes(a));
    if (missing.length)
      throw new OpError(
        `--source-pool: ${missing.length} of ${pool.length} addresses are not bound (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}); ` +
          'list each of them in daemon.listen (a wildcard 0.0.0.0 cannot send from a chosen address) and add them to an interface',
      );
  }
  const overrides = hasOverrides(req.overrides) ? req.overrides : undefined;
  if (overrides && !conn.children.length) throw new OpError(`connection '${conn.name}' has no child to apply the overrides to`);
  // With a pattern, findPsk would look for the pattern's identities; the configured identity's secret is the one
  // the user set up (the headend matches %any or a wildcard), looked up once for the run.
  let psk: Buffer | undefined;
  if (req.idPattern !== undefined && !overrides?.psk) {
    const cfg = ctx.config();
    const remoteId = conn.remote.id && conn.remote.id !== '%any' ? conn.remote.id : conn.remoteAddrs.find((a) => a !== '%any')!;
    const localId =
      conn.local.id && conn.local.id !== '%any' ? conn.local.id : (pool[0] ?? conn.localAddrs.find((a) => a !== '%any') ?? '%any');
    psk = findPsk(cfg, req.idPattern.replaceAll('%d', '1'), remoteId) ?? findPsk(cfg, localId, remoteId);
    if (!psk) throw new OpError(`no shared key found for '${localId}' - '${remoteId}' (the identities of --id-pattern use its secret)`);
  }
  return { conn, pool, psk, overrides };
}

/** The run's mix, checked before anything starts (a bad mix is an OpError like any bad option). */
export function mixTracker(ctx: OpsContext, id: number, req: LoadRequest, conn: ConnectionConfig): MixTracker {
  const shares = parseMix(req.mix!);
  if (req.mixSeed !== undefined && !(Number.isInteger(req.mixSeed) && req.mixSeed >= 0 && req.mixSeed <= 0xffff_ffff))
    throw new OpError(`invalid --mix-seed '${req.mixSeed}': expected an integer 0..4294967295`);
  const overrides = classOverrides(shares, conn, req.child, ctx.config().daemon.ipsecBackend);
  const seed = req.mixSeed ?? randomInt(ctx.svc.random, 2 ** 32);
  return new MixTracker(ctx, id, shares, overrides, seed, req.count);
}
