// The old `fault --mode` verb, now shorthand for fault rules (faults/mode.ts); the rule verbs (add, list, clear,
// impair) go to the FaultWiring directly.
import type { OpsContext } from './context.js';
import { connection } from './lookup.js';

/**
 * 'silent' makes this daemon a dead peer for the named connection (or all): received messages are dropped before
 * processing, so nothing is answered; 'delay' holds every received message delayMs; 'normal' undoes both.
 */
export function setFault(ctx: OpsContext, mode: 'silent' | 'normal' | 'delay', ike?: string, delayMs?: number): string {
  if (ike) connection(ctx, ike);
  return ctx.faults.mode(mode, ike, delayMs);
}
