// Looking at the daemon: list-sas (the SAs as JSON), stats (counters), the IOS `show crypto ipsec sa` view and its
// data.
import type { IpsecSaFlowJson } from '../ipsec/sa-view.js';
import { OpError, type OpsContext } from './context.js';
import { describeSa, type SaJson } from './sa-json.js';

export function listSas(ctx: OpsContext): SaJson[] {
  const now = ctx.timers.now();
  return ctx.table
    .list()
    .filter((s) => s.state !== 'DESTROYING')
    .map((s) => describeSa(s, now));
}

export function stats(ctx: OpsContext) {
  const { dispatcher, transport } = ctx.counters();
  return {
    sas: ctx.table.size,
    halfOpen: ctx.table.halfOpenCount(),
    rss: process.memoryUsage.rss(),
    timers: ctx.timers.size,
    dispatcher,
    transport,
    esp: ctx.esp?.counters,
  };
}

export function ipsecSaView(ctx: OpsContext): string {
  if (!ctx.esp) throw new OpError('the IOS view needs daemon.ipsec_backend: userspace');
  return ctx.esp.ipsecSaView();
}

/** The IOS view's flows as data (ipsec-sa --json). */
export function ipsecSaFlows(ctx: OpsContext): IpsecSaFlowJson[] {
  if (!ctx.esp) throw new OpError('the IOS view needs daemon.ipsec_backend: userspace');
  return ctx.esp.ipsecSaFlows();
}
