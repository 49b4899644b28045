// Finding what an operation names: a connection or child of the loaded config, live IKE_SAs by name or unique id,
// and the connection a received IKE_SA_INIT belongs to (the dispatcher asks through IkeServices.findConnection).
import type { ConnectionConfig } from '../config/types.js';
import type { IkeSa } from '../ike/ike-sa.js';
import type { Endpoint } from '../net/endpoint.js';
import { OpError, type OpsContext } from './context.js';

export function connection(ctx: OpsContext, name: string): ConnectionConfig {
  const conns = ctx.config().connections;
  const c = conns.find((x) => x.name === name);
  if (!c) throw new OpError(`no connection named '${name}' (configured: ${conns.map((x) => x.name).join(', ') || 'none'})`);
  return c;
}

export function connectionOfChild(ctx: OpsContext, child: string): ConnectionConfig {
  const c = ctx.config().connections.find((x) => x.children.some((ch) => ch.name === child));
  if (!c) throw new OpError(`no child named '${child}' in any connection`);
  return c;
}

/** The connection of `--ike NAME`, else the one holding `--child NAME`. */
export function targetConnection(ctx: OpsContext, ike?: string, child?: string): ConnectionConfig {
  const conn = ike ? connection(ctx, ike) : child ? connectionOfChild(ctx, child) : undefined;
  if (!conn) throw new OpError('initiate needs --child NAME or --ike NAME');
  if (child && !conn.children.some((c) => c.name === child)) throw new OpError(`connection '${conn.name}' has no child '${child}'`);
  return conn;
}

/** IKE_SAs by unique id (a number) or connection name; none is an error. */
export function findIke(ctx: OpsContext, name: string): IkeSa[] {
  const byId = /^\d+$/.test(name) ? ctx.table.byUniqueId(Number(name)) : undefined;
  const found = byId ? [byId] : ctx.table.byName(name);
  if (found.length === 0) throw new OpError(`no IKE_SA named '${name}' found`);
  return found;
}

/** The first connection whose local_addrs and remote_addrs admit the two addresses (responder side). */
export function findConnection(ctx: OpsContext, local: Endpoint, remote: Endpoint): ConnectionConfig | undefined {
  const ok = (list: string[], addr: string) =>
    list.length === 0 || list.some((a) => a === '%any' || a === addr || a === '0.0.0.0' || a === '::');
  return ctx.config().connections.find((c) => ok(c.localAddrs, local.address) && ok(c.remoteAddrs, remote.address));
}
