// Taking SAs down: swanctl --terminate --ike NAME | --child NAME.
import { ChildDelete } from '../ike/tasks/child-delete.js';
import { IkeDelete } from '../ike/tasks/ike-delete.js';
import { OpError, type OpsContext } from './context.js';
import { findIke } from './lookup.js';

/** Established IKE_SAs are deleted with an INFORMATIONAL exchange; others (half-open, connecting) destroyed at once. */
export function terminate(ctx: OpsContext, ike?: string, child?: string): number {
  if (ike) {
    const sas = findIke(ctx, ike);
    for (const sa of sas) {
      if (sa.state === 'ESTABLISHED') {
        sa.manager.queue(new IkeDelete(sa, true));
        sa.manager.initiate();
      } else {
        sa.log.ike(1, `deleting IKE_SA ${sa.label} in state ${sa.state}`);
        sa.destroy();
      }
    }
    return sas.length;
  }
  if (child) {
    let n = 0;
    for (const sa of ctx.table.list()) {
      const kids = sa.children.filter((c) => c.name === child || `${c.uniqueId}` === child);
      if (!kids.length || sa.state !== 'ESTABLISHED') continue;
      sa.manager.queue(new ChildDelete(sa, true, kids));
      sa.manager.initiate();
      n += kids.length;
    }
    if (!n) throw new OpError(`no CHILD_SA named '${child}' found`);
    return n;
  }
  throw new OpError('terminate needs --ike NAME or --child NAME');
}
