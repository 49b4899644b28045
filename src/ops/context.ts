// What the operations (src/ops) need of the daemon, and nothing more: the parts the composition root (daemon.ts)
// builds, seen through a narrow interface, so the control verbs, in-process tests and a TypeScript API all drive
// the same code without reaching into the Daemon.
import type { IkelabConfig } from '../config/types.js';
import type { FaultWiring } from '../faults-wiring.js';
import type { DispatchCounters } from '../ike/dispatcher.js';
import type { SaTable } from '../ike/sa-table.js';
import type { IkeServices } from '../ike/services.js';
import type { UserspaceBackend } from '../ipsec/userspace-backend.js';
import type { Logger } from '../log/logger.js';
import type { UdpTransport } from '../net/udp-transport.js';
import type { TimerQueue } from '../util/timer-queue.js';

/** A request the operation refuses (unknown name, missing option, bad override): the message says what to fix. */
export class OpError extends Error {}

export interface OpsContext {
  readonly table: SaTable;
  /** What every IKE_SA we create gets (the initiator side builds its IkeSa with these). */
  readonly svc: IkeServices;
  /** The daemon's one timer queue: every wait and time reading of the ops goes through its clock. */
  readonly timers: TimerQueue;
  readonly log: Logger;
  readonly faults: FaultWiring;
  /** The userspace ESP engine when daemon.ipsec_backend is 'userspace' (ping, the IOS view). */
  readonly esp?: UserspaceBackend;
  /** Trap policies by `conn/child` (charon's routed CHILD_SAs); owned by the ops, kept here so all see one set. */
  readonly traps: Set<string>;
  /** The configuration in force; setConfig replaces it (load). */
  config(): IkelabConfig;
  setConfig(cfg: IkelabConfig): void;
  /** The addresses actually bound, once the transport started (wildcards expanded). */
  bound(): string[] | undefined;
  /** Calls `listener` after each CHILD_SA install/update reaches the backend; returns the unsubscribe. */
  onChildInstalled(listener: () => void): () => void;
  /** Counters of the parts the ops do not own, for `stats`. */
  counters(): { dispatcher: DispatchCounters; transport?: UdpTransport['counters'] };
}
