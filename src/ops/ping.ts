// ikelab ping: ICMP echo through a CHILD_SA from the userspace engine's virtual host. A trapped child with no SA
// up is acquired first: the ping waits for its CHILD_SA, on the daemon's clock (a test's clock in tests).
import type { PingOptions, PingResult } from '../ipsec/ping.js';
import { OpError, type OpsContext } from './context.js';
import { initiate } from './initiate.js';

/** How long a ping waits for the CHILD_SA it acquired, on the timer queue's clock (charon's acquire is similar). */
export const ACQUIRE_WAIT_MS = 10_000;

export async function ping(ctx: OpsContext, o: PingOptions): Promise<PingResult> {
  const esp = ctx.esp;
  if (!esp) throw new OpError('ping needs daemon.ipsec_backend: userspace');
  const up = () =>
    ctx.table
      .list()
      .some(
        (sa) =>
          sa.state === 'ESTABLISHED' && sa.children.some((c) => (c.name === o.child || c.label === o.child) && c.state === 'INSTALLED'),
      );
  const trapped = [...ctx.traps].find((t) => t.endsWith(`/${o.child}`));
  if (!up() && trapped) {
    const [conn, child] = trapped.split('/') as [string, string];
    ctx.log.log('KNL', 1, `creating acquire job for CHILD_SA ${child} of ${conn} (traffic to ${o.dst})`);
    initiate(ctx, conn, child);
    await until(ctx, up, ACQUIRE_WAIT_MS);
  }
  return esp.ping(o);
}

/**
 * Resolves once `ok()` holds, checked after each CHILD_SA install (no polling), or after `ms` on the timer queue:
 * the caller then goes on either way (a ping without an SA counts its requests as lost).
 */
function until(ctx: OpsContext, ok: () => boolean, ms: number): Promise<void> {
  if (ok()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      off();
      ctx.timers.cancel(deadline);
      resolve();
    };
    // an install is reported before the SA is filed under its IKE_SA: look once the handler that installed it is done
    const off = ctx.onChildInstalled(() => queueMicrotask(() => ok() && finish()));
    const deadline = ctx.timers.after(ms, 'ping acquire', finish);
  });
}
