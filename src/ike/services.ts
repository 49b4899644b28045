// What an IKE_SA needs from the daemon around it. Narrow on purpose: tests can provide all of it in-process
// (two peers wired back to back with a queue instead of sockets).
import type { IkelabConfig, ConnectionConfig } from '../config/types.js';
import type { RandomSource } from '../crypto/random.js';
import type { Logger } from '../log/logger.js';
import type { Endpoint } from '../net/endpoint.js';
import type { TimerQueue } from '../util/timer-queue.js';
import type { ChildSaBackend } from '../ipsec/backend.js';
import type { IkeSa } from './ike-sa.js';

/**
 * Fault hooks at the manager's send/receive points, for failure reproduction: return false to drop the message.
 * Installed through the control API; the default lets everything through.
 */
export interface FaultHooks {
  beforeSend?(ike: IkeSa, exchange: number, isResponse: boolean, messageId: number): boolean;
  beforeProcess?(ike: IkeSa, exchange: number, isResponse: boolean, messageId: number): boolean;
}

export interface IkeServices {
  log: Logger;
  timers: TimerQueue;
  random: RandomSource;
  config(): IkelabConfig;
  sendIke(data: Buffer, from: Endpoint, to: Endpoint): void;
  ikePort: number;
  nattPort: number;
  nextIkeId(): number;
  nextChildId(): number;
  /** The SA's local SPI became known / the SA went away: keep the O(1) lookup table in step. */
  registerSa(sa: IkeSa): void;
  unregisterSa(sa: IkeSa): void;
  /** A responder IKE_SA got established: it no longer counts as half-open (COOKIE and half-open limits). */
  leftHalfOpen?(sa: IkeSa): void;
  /** Responder: pick a connection for an IKE_SA_INIT from these addresses. */
  findConnection(local: Endpoint, remote: Endpoint): ConnectionConfig | undefined;
  /** Other established IKE_SAs with the same peer (INITIAL_CONTACT and uniqueness). */
  hasSaWithPeer(ike: IkeSa): boolean;
  /** INITIAL_CONTACT: destroy our other IKE_SAs with the same peer identity, without a DELETE (RFC 7296 2.4). */
  dropStaleSas(ike: IkeSa): void;
  /** Where CHILD_SAs go once negotiated (userspace ESP, xfrm, or nothing); child-spec.ts is the only caller. */
  childBackend: ChildSaBackend;
  /** Behave as if behind a NAT so the peer uses ESP-in-UDP (the userspace engine has no raw ESP). */
  forceEncap: boolean;
  /** RFC 3948 NAT-T keepalive for this SA's endpoints. */
  sendKeepalive(sa: IkeSa): void;
  faults: FaultHooks;
  /** dpd_action/close_action = trap: route the child so traffic re-creates it. */
  trapChild(name: string, child: string): void;
  /** Re-initiate a connection (dpd_action/close_action restart). */
  initiateConnection(name: string, child?: string): void;
}
