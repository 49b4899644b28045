// The daemon's operations: what the control verbs (src/control/commands) and in-process callers (tests, demo, a
// TypeScript API) run. Each family is a module of plain functions over an OpsContext (context.ts); createOps binds
// them to one daemon's parts. src/ops never imports the control layer, the CLI or the process entry points.
import type { IkelabConfig } from '../config/types.js';
import type { FaultWiring } from '../faults-wiring.js';
import type { IkeSa } from '../ike/ike-sa.js';
import type { PingOptions, PingResult } from '../ipsec/ping.js';
import type { IpsecSaFlowJson } from '../ipsec/sa-view.js';
import type { OpsContext } from './context.js';
import { setFault } from './faults.js';
import { initiate } from './initiate.js';
import { type LoadRequest, type LoadStatus, loadDone, loadStatus, startLoad, stopLoad } from './load-run.js';
import {
  type InitiateTarget,
  initiateAndWait,
  type Outcome,
  type RekeyTarget,
  rekeyAndWait,
  type TerminateTarget,
  terminateAndWait,
  type WaitOptions,
} from './outcome.js';
import { ipsecSaFlows, ipsecSaView, listSas, stats } from './list.js';
import { connection } from './lookup.js';
import type { InitiateOverrides } from './overrides.js';
import { ping } from './ping.js';
import { rekey } from './rekey.js';
import { type LoadReport, reload } from './reload.js';
import type { SaJson } from './sa-json.js';
import { terminate } from './terminate.js';
import { type StormRequest, type StormStatus, startStorm, stopStorm, stormDone, stormStatus } from './storm.js';
import { startActions, trap } from './traps.js';

export { OpError, type OpsContext } from './context.js';
export type { InitiateOverrides, InitiateOverrideText } from './overrides.js';
export type { LoadChange, LoadReport } from './reload.js';
export type { LoadRequest, LoadStatus } from './load-run.js';
export type { StormKind, StormRequest, StormScope, StormStatus } from './storm.js';
export type { InitiateTarget, Outcome, RekeyTarget, TerminateTarget, WaitOptions } from './outcome.js';

export interface Ops {
  /** The configuration in force. */
  readonly config: IkelabConfig;
  /** The fault engine's rule verbs (add, list, clear, impair). */
  readonly faults: FaultWiring;
  /** Trap policies by `conn/child`. */
  readonly traps: ReadonlySet<string>;
  initiate(ike?: string, child?: string, overrides?: InitiateOverrides): IkeSa;
  /** A load run with the defaults (no INITIAL_CONTACT, the configured identity); returns count. */
  initiateMany(ike: string | undefined, child: string | undefined, count: number, rate: number, overrides?: InitiateOverrides): number;
  /** `initiate --count N`: a tracked load run (load-run.ts); its first status, with the run's id. */
  startLoad(req: LoadRequest): LoadStatus;
  /** A load run's progress or summary (the newest without id). */
  loadStatus(id?: number): LoadStatus;
  stopLoad(id?: number): LoadStatus;
  /** A load run's summary once it is over (the newest without id). */
  loadDone(id?: number): Promise<LoadStatus>;
  /** `rekey --all` / `dpd --all`: a paced storm over the established IKE_SAs (storm.ts); its first status, with its id. */
  startStorm(req: StormRequest): StormStatus;
  /** A storm's progress or summary (the newest without id). */
  stormStatus(id?: number): StormStatus;
  stopStorm(id?: number): StormStatus;
  /** A storm's summary once it is over (the newest without id). */
  stormDone(id?: number): Promise<StormStatus>;
  terminate(ike?: string, child?: string): number;
  rekey(ike?: string, child?: string, dh?: number): number;
  /** initiate, then its result (outcome.ts): ok once ESTABLISHED, else the notify / reason; rejects only a refused request. */
  initiateAndWait(target: InitiateTarget, opts?: WaitOptions): Promise<Outcome>;
  terminateAndWait(target: TerminateTarget, opts?: WaitOptions): Promise<Outcome>;
  rekeyAndWait(target: RekeyTarget, opts?: WaitOptions): Promise<Outcome>;
  setFault(mode: 'silent' | 'normal' | 'delay', ike?: string, delayMs?: number): string;
  listSas(): SaJson[];
  stats(): ReturnType<typeof stats>;
  ipsecSaView(): string;
  /** The same view's flows as data (ipsec-sa --json). */
  ipsecSaFlows(): IpsecSaFlowJson[];
  ping(o: PingOptions): Promise<PingResult>;
  reload(cfg: IkelabConfig, opts?: { applyToRekey?: boolean }): LoadReport;
  trap(conn: string, child: string): void;
  startActions(): void;
  /** A configured connection by name (an OpError naming the configured ones if absent). */
  connection(name: string): ReturnType<typeof connection>;
}

export function createOps(ctx: OpsContext): Ops {
  return {
    get config() {
      return ctx.config();
    },
    faults: ctx.faults,
    traps: ctx.traps,
    initiate: (ike, child, o) => initiate(ctx, ike, child, o),
    initiateMany: (ike, child, count, rate, o) => startLoad(ctx, { ike, child, count, rate, overrides: o }).count,
    startLoad: (req) => startLoad(ctx, req),
    loadStatus: (id) => loadStatus(ctx, id),
    stopLoad: (id) => stopLoad(ctx, id),
    loadDone: (id) => loadDone(ctx, id),
    startStorm: (req) => startStorm(ctx, req),
    stormStatus: (id) => stormStatus(ctx, id),
    stopStorm: (id) => stopStorm(ctx, id),
    stormDone: (id) => stormDone(ctx, id),
    terminate: (ike, child) => terminate(ctx, ike, child),
    rekey: (ike, child, dh) => rekey(ctx, ike, child, dh),
    initiateAndWait: (t, o) => initiateAndWait(ctx, t, o),
    terminateAndWait: (t, o) => terminateAndWait(ctx, t, o),
    rekeyAndWait: (t, o) => rekeyAndWait(ctx, t, o),
    setFault: (mode, ike, ms) => setFault(ctx, mode, ike, ms),
    listSas: () => listSas(ctx),
    stats: () => stats(ctx),
    ipsecSaView: () => ipsecSaView(ctx),
    ipsecSaFlows: () => ipsecSaFlows(ctx),
    ping: (o) => ping(ctx, o),
    reload: (cfg, opts) => reload(ctx, cfg, opts),
    trap: (conn, child) => trap(ctx, conn, child),
    startActions: () => startActions(ctx),
    connection: (name) => connection(ctx, name),
  };
}
