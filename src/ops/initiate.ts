// Bringing SAs up: `initiate` (swanctl --initiate: one CHILD_SA, its IKE_SA first if none is up), startIke (what
// `initiate --count`, load-run.ts, makes N of), and per-initiation overrides (overrides.ts).
import type { ConnectionConfig } from '../config/types.js';
import { IkeSa } from '../ike/ike-sa.js';
import { initiatorChain } from '../ike/responder-tasks.js';
import { ChildCreate } from '../ike/tasks/child-create.js';
import type { Endpoint } from '../net/endpoint.js';
import { pickSource } from '../net/interfaces.js';
import { OpError, type OpsContext } from './context.js';
import { targetConnection } from './lookup.js';
import {
  describeOverrides,
  hasChildOverrides,
  hasIkeOverrides,
  hasOverrides,
  type InitiateOverrides,
  overrideChild,
  overrideConnection,
} from './overrides.js';

/**
 * swanctl --initiate: --child NAME (its connection comes up first if needed) or --ike NAME. Without overrides an
 * SA that is already up (or coming up) is reused. An override always makes something new, since it can only
 * apply to what is being created: --psk / --proposals a new IKE_SA (whatever is up), child-level overrides alone a
 * new CHILD_SA in the connection's IKE_SA (a new IKE_SA when none is up).
 */
export function initiate(ctx: OpsContext, ike?: string, child?: string, overrides?: InitiateOverrides): IkeSa {
  const conn = targetConnection(ctx, ike, child);
  const o = hasOverrides(overrides) ? overrides : undefined;
  if (o && hasIkeOverrides(o)) return startIke(ctx, conn, child, o);
  const existing = ctx.table.byName(conn.name).find((s) => s.state === 'ESTABLISHED' || s.state === 'CONNECTING');
  if (!existing) return startIke(ctx, conn, child, o);
  const name = child ?? (o ? firstChild(conn) : undefined);
  if (!name) return existing;
  if (!o && existing.state === 'ESTABLISHED' && existing.children.some((c) => c.name === name && c.state === 'INSTALLED')) return existing;
  const configured = conn.children.find((c) => c.name === name)!;
  if (o) existing.log.cfg(1, `CHILD_SA ${name} with overrides for this CHILD_SA only: ${describeOverrides(o)}`);
  existing.manager.queue(new ChildCreate(existing, true, o && hasChildOverrides(o) ? overrideChild(configured, o) : configured));
  existing.manager.initiate();
  return existing;
}

/** The child a new IKE_SA of `conn` brings up when none is named (initiatorChain's choice). */
function firstChild(conn: ConnectionConfig): string {
  const c = conn.children[0];
  if (!c) throw new OpError(`connection '${conn.name}' has no child to apply the overrides to`);
  return c.name;
}

/** What a load run (load-run.ts) sets per IKE_SA: its source address, and a hook before the first message. */
export interface StartIkeSetup {
  /** The local address (a bound one) instead of the connection's / the routing choice. */
  source?: string;
  /** Called with the registered IKE_SA before it sends anything. */
  prepare?(sa: IkeSa): void;
}

/** A new IKE_SA of `conn` with the chain for its first CHILD_SA (`child`, else the connection's first). */
export function startIke(
  ctx: OpsContext,
  configured: ConnectionConfig,
  child?: string,
  o?: InitiateOverrides,
  setup?: StartIkeSetup,
): IkeSa {
  const conn = o ? overrideConnection(configured, child ?? firstChild(configured), o) : configured;
  const remoteAddr = conn.remoteAddrs.find((a) => a !== '%any');
  if (!remoteAddr) throw new OpError(`connection '${conn.name}' has no remote address to initiate to`);
  const daemon = ctx.config().daemon;
  const source =
    setup?.source ?? conn.localAddrs.find((a) => a !== '%any') ?? pickSource(remoteAddr, ctx.bound() ?? daemon.listen) ?? daemon.listen[0]!;
  const local: Endpoint = { address: source, port: conn.localPort };
  const sa = new IkeSa(ctx.svc, conn, true, local, { address: remoteAddr, port: conn.remotePort }, ctx.svc.random.bytes(8));
  if (o?.psk) sa.pskOverride = o.psk;
  ctx.table.register(sa);
  if (o) sa.log.cfg(1, `initiating ${sa.label} with overrides for this IKE_SA only: ${describeOverrides(o)}`);
  setup?.prepare?.(sa);
  for (const t of initiatorChain(sa, child)) sa.manager.queue(t);
  sa.manager.initiate();
  return sa;
}
