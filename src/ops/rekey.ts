// swanctl --rekey, plus the one-off DH choice of `rekey --child NAME --dh none|GROUP`.
import { ChildRekey } from '../ike/tasks/child-rekey.js';
import { IkeRekey } from '../ike/tasks/ike-rekey.js';
import { OpError, type OpsContext } from './context.js';
import { findIke } from './lookup.js';

/**
 * --child NAME (every installed CHILD_SA of that name or unique id) or --ike NAME. dh (--child only): the DH group
 * of this one rekey instead of the configured one, 0 = none (no KE, no PFS); forgotten after it.
 */
export function rekey(ctx: OpsContext, ike?: string, child?: string, dh?: number): number {
  if (dh !== undefined && !child) throw new OpError('rekey --dh needs --child NAME');
  if (ike) {
    const sas = findIke(ctx, ike).filter((s) => s.state === 'ESTABLISHED');
    if (!sas.length) throw new OpError(`IKE_SA '${ike}' is not established`);
    for (const sa of sas) {
      sa.manager.queue(new IkeRekey(sa, true));
      sa.manager.initiate();
    }
    return sas.length;
  }
  if (child) {
    let n = 0;
    for (const sa of ctx.table.list()) {
      if (sa.state !== 'ESTABLISHED') continue;
      for (const c of sa.children.filter(
        (x) => (x.name === child || `${x.uniqueId}` === child) && x.state === 'INSTALLED' && !x.successor,
      )) {
        sa.manager.queue(new ChildRekey(sa, true, c, dh));
        n++;
      }
      sa.manager.initiate();
    }
    if (!n) throw new OpError(`no installed CHILD_SA named '${child}' found`);
    return n;
  }
  throw new OpError('rekey needs --ike NAME or --child NAME');
}
