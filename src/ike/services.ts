// What an IKE_SA needs from the daemon around it. Narrow on purpose: tests can provide all of it in-process
// (two peers wired back to back with a queue instead of sockets).
import type { IkelabConfig, ConnectionConfig } from '../config/types.js';
import type { RandomSource } from '../crypto/random.js';
import type { Logger } from '../log/logger.js';
import type { KeyExport } from './key-export.js';
import type { Endpoint } from '../net/endpoint.js';
import type { TimerQueue } from '../util/timer-queue.js';
import type { ChildSaBackend } from '../ipsec/backend.js';
import type { IkeSa } from './ike-sa.js';

/**
 * One IKE message as the fault hooks see it (what the fault engine's IkeMessageCtx holds besides the IKE_SA).
 * Structural on purpose: src/ike never imports the fault engine (`npm run depcheck`), the daemon adapts one to it.
 */
export interface FaultMessageInfo {
  exchange: number;
  isResponse: boolean;
  messageId: number;
  /** Payload types in message order (inside SK for a protected message); undefined when not known. */
  payloads?: readonly number[];
  /** Notify types carried. */
  notifies?: readonly number[];
  /** The same bytes once more: our retransmitted request, a cached response resent, the peer's retransmit. */
  retransmit?: boolean;
  /**
   * A received CREATE_CHILD_SA request whose N(REKEY_SA) names one of our CHILD_SAs: its name and label, and why we
   * could not start our own rekey of it now, if we could not (`collide` acts only without one).
   */
  rekeys?: { child: string; label: string; busy?: string };
}

/** What a fault rule wants done with one IKE message (the fault engine's decision, seen structurally). */
export type IkeFaultDecision = { release?: readonly unknown[] } & (
  | { kind: 'pass' }
  /** Nothing of the message goes out / is processed (drop, dead, no-retransmit). */
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  | { kind: 'duplicate'; copies: number; gapMs: number }
  | { kind: 'hold'; holdId: number; maxMs: number }
  /** Bytes: flip a byte of the SK payload's IV or ICV / keep the first `keep` bytes (negative: cut off the end). */
  | { kind: 'corrupt'; where: 'icv' | 'iv' }
  | { kind: 'truncate'; keep: number }
  /** Outgoing: send this error notify in place of our response; incoming: answer the request with it unprocessed. */
  | { kind: 'notify'; notifyType: number; data: Buffer }
  | { kind: 'ke'; mode: 'omit' }
  | { kind: 'ke'; mode: 'empty' }
  | { kind: 'ke'; mode: 'group'; group: number }
  | { kind: 'ke'; mode: 'fill'; byte: number }
  | { kind: 'unknown-payload'; payloadType: number; critical: boolean; sk: boolean }
  /** The recipient's SPI in the header with every bit inverted. */
  | { kind: 'wrong-spi' }
  | { kind: 'wrong-mid'; messageId: number }
  /** Do not send this DELETE; finish the exchange locally as if the peer had answered. */
  | { kind: 'no-delete' }
  /** Process every datagram recorded for this IKE_SA (this one included) again, in that order. */
  | { kind: 'replay'; order: 'forward' | 'backward' }
  /**
   * Received CHILD_SA rekey request: start our own rekey of that CHILD_SA first (RFC 7296 2.8.1 collision), with
   * nonces that make ours survive (win) or the peer's (lose), then process the request. rule: for the log.
   */
  | { kind: 'collide'; outcome: 'win' | 'lose'; rule: string }
);

/**
 * Fault hooks at the task manager's send and receive points (failure reproduction), set by the daemon, which
 * connects them to its fault engine. The manager applies content and byte changes itself (it knows the message);
 * carry() applies the timing (drop, delay, duplicate, hold) and lets go of held messages a decision released.
 */
export interface FaultHooks {
  /** Could any rule act at this point now? false: skip building the message info (the fast path). */
  active(point: 'ike-send' | 'ike-receive'): boolean;
  /** Keep the datagrams received per IKE_SA (bounded)? Only a replay rule needs them. */
  records(): boolean;
  /** A message about to be encoded and sent (content changes apply before protection), or a retransmit resent. */
  onSend(ike: IkeSa, msg: FaultMessageInfo): IkeFaultDecision;
  /** A datagram received for this IKE_SA, before anything about it is processed. */
  onReceive(ike: IkeSa, msg: FaultMessageInfo): IkeFaultDecision;
  /** Send (or process) these bytes as the decision says, by calling go: now, later, more than once or never. */
  carry(ike: IkeSa, d: IkeFaultDecision, bytes: Buffer, go: (bytes: Buffer) => void): void;
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
  /** Fault injection (src/faults through the daemon); absent: nothing is ever changed. */
  faults?: FaultHooks;
  /** dpd_action/close_action = trap: route the child so traffic re-creates it. */
  trapChild(name: string, child: string): void;
  /** Re-initiate a connection (dpd_action/close_action restart). */
  initiateConnection(name: string, child?: string): void;
  /**
   * daemon.save_keys: an IKE_SA's keys were derived (ike-sa.ts setKeys) / a CHILD_SA was installed (child-setup.ts
   * installChild), for Wireshark's decryption tables. A hook of its own because keys never go into log events;
   * absent: nothing leaves the SA.
   */
  keysDerived?(info: KeyExport): void;
}
