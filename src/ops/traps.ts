// Trap policies (charon's "routed" CHILD_SAs) and start actions: traffic for a trapped child with no SA up
// triggers an initiation (an acquire). With the userspace engine that traffic is ikelab's own (ping.ts).
import type { OpsContext } from './context.js';
import { initiate } from './initiate.js';

export function trap(ctx: OpsContext, conn: string, child: string): void {
  const key = `${conn}/${child}`;
  if (ctx.traps.has(key)) return;
  ctx.traps.add(key);
  ctx.log.log('CFG', 1, `installed trap policy for CHILD_SA ${child} of ${conn}`);
}

/** start_action = start: bring those children up now; trap: route them (like charon after loading a config). */
export function startActions(ctx: OpsContext): void {
  for (const c of ctx.config().connections) {
    for (const ch of c.children) {
      if (ch.startAction === 'start') initiate(ctx, c.name, ch.name);
      else if (ch.startAction === 'trap') trap(ctx, c.name, ch.name);
    }
  }
}
