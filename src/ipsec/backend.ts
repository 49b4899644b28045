// What carries a CHILD_SA's traffic once IKE negotiated it: the userspace ESP engine, the kernel (xfrm), or
// nothing. The IKE side (src/ike/child-spec.ts) describes each CHILD_SA as a plain ChildSaSpec and calls a
// ChildSaBackend; nothing here knows an IKE_SA. One direction only: src/ike imports this file, src/ipsec never
// imports src/ike (checked by `npm run depcheck`).
import type { LogContext } from '../log/logger.js';
import type { Endpoint } from '../net/endpoint.js';
import type { TrafficSelector } from '../wire/types.js';

/** The negotiated ESP transforms (IANA ids, RFC 7296 3.3.2): the cipher, its key size, integrity unless AEAD, ESN. */
export interface EspSuite {
  encr: number;
  encrKeyBits?: number;
  integ?: number;
  esn: boolean;
}

/** KEYMAT per direction (RFC 7296 2.17): what we receive with (in) and send with (out). */
export interface EspKeys {
  encrIn: Buffer;
  integIn: Buffer;
  encrOut: Buffer;
  integOut: Buffer;
}

/**
 * Traffic and drop counters of one CHILD_SA. The caller hands the object in with the spec and reads it; the
 * engine that carries the SA counts into it (the kernel backend counts nothing: the kernel keeps its own).
 */
export interface SaCounters {
  bytesIn: number;
  packetsIn: number;
  bytesOut: number;
  packetsOut: number;
  integrityFailures: number;
  replayDrops: number;
  /** When the last authentic packet arrived: milliseconds on the daemon's timer clock (not wall time). */
  lastInbound?: number;
  /** ESP packets from this peer with an SPI no installed SA has (userspace ESP). */
  invalidSpi?: number;
  /** ESP packets that were authentic but malformed (bad padding, inner packet), or too short to parse. */
  malformed?: number;
}

export const zeroCounters = (): SaCounters => ({
  bytesIn: 0,
  packetsIn: 0,
  bytesOut: 0,
  packetsOut: 0,
  integrityFailures: 0,
  replayDrops: 0,
});

/** One CHILD_SA as a data plane installs it (tunnel mode ESP, as charon's child_sa_t hands it to the kernel). */
export interface ChildSaSpec {
  /** Unique per daemon (the CHILD_SA's unique id, `net{3}`): the handle of install and remove. */
  id: number;
  /** Stays the same across rekeys of one CHILD_SA: the policies of the kernel, a flow of the IOS view. */
  reqid: number;
  /** The child's config name (`net`). */
  name: string;
  /** The connection (IKE_SA config) it belongs to: the "crypto map" of the IOS view. */
  connection: string;
  /** Unique id of the IKE_SA that owns it now (`bar[3]` -> 3), for fault rules on one IKE_SA. */
  ikeId?: number;
  /** The ESP header carries the receiver's SPI: ours inbound, the peer's outbound (RFC 4303 2.1). */
  spiIn: Buffer;
  spiOut: Buffer;
  suite: EspSuite;
  keys: EspKeys;
  /** PFS: the DH group of the exchange that created the SA, 0 for none. */
  dhGroup: number;
  /** Narrowed traffic selectors, ours and the peer's. */
  localTs: readonly TrafficSelector[];
  remoteTs: readonly TrafficSelector[];
  /** The IKE_SA's current endpoints (outer addresses; with encap also the UDP ports, RFC 3948). */
  local: Endpoint;
  remote: Endpoint;
  /** UDP encapsulation negotiated (a NAT was detected or faked). */
  encap: boolean;
  /** False while a rekey responder waits for the peer's delete of the old SA: only the inbound side is used. */
  outboundActive: boolean;
  /** Anti-replay window in packets, 0 = off. */
  replayWindow: number;
  /** Addresses inside the local selectors that ikelab itself answers (host_addrs; userspace engine only). */
  hostAddrs: readonly string[];
  /** Where the engine counts this SA's traffic (see SaCounters). */
  counters: SaCounters;
  /** Log context of the owning IKE_SA, so the engine's lines carry the same connection and thread. */
  logCtx?: LogContext;
}

/** What an engine reports back about an installed SA; given with each install, the newest one counts. */
export interface ChildSaEvents {
  /** An authentic ESP packet arrived on this SA: the peer is alive (RFC 7296 2.4: DPD only probes a quiet peer). */
  inbound?(): void;
}

export interface ChildSaBackend {
  /**
   * Install a CHILD_SA, or update the installed one with the same id: outbound activated after a rekey,
   * endpoints moved (NAT mapping change), the SA taken over by a rekeyed IKE_SA (new log context and events).
   */
  install(spec: ChildSaSpec, events?: ChildSaEvents): void;
  /** Remove the CHILD_SA with this id (both directions); unknown ids are ignored. */
  remove(id: number): void;
}

/** `net{3}`, as charon names a CHILD_SA. */
export const specLabel = (s: Pick<ChildSaSpec, 'name' | 'id'>): string => `${s.name}{${s.id}}`;

// ------------------------------------------------------------------------------------------- fault hooks

/**
 * What a fault rule wants done with one ESP packet: the fault engine's decision seen structurally (src/ipsec never
 * imports src/faults, not even its types; the daemon connects the two). `dead`: the IKE_SA is dead until the rule
 * is cleared, so nothing is sealed, sent, opened or counted.
 */
export type EspFaultDecision = { release?: readonly unknown[] } & (
  | { kind: 'pass' }
  | { kind: 'dead' }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  | { kind: 'duplicate'; copies: number; gapMs: number }
  | { kind: 'hold'; holdId: number; maxMs: number }
  /** Flip a byte of the IV (the one after the ESP header) or the ICV (the last). */
  | { kind: 'corrupt'; where: 'icv' | 'iv' }
  | { kind: 'truncate'; keep: number }
  /** Seal with this SPI in the header instead of the peer's. */
  | { kind: 'wrong-spi'; spi?: number }
  /** With this packet, the last `count` packets of the SA (this direction) once more. */
  | { kind: 'esp-replay'; count: number }
  /** Advance the outbound sequence number by `by` before sealing (the peer sees a gap). */
  | { kind: 'esp-seq-jump'; by: number }
);

/**
 * Fault hooks at the userspace ESP engine's seal (out) and open (in) points, set by the daemon. The engine applies
 * sequence, SPI and byte changes itself; carry() applies the timing (drop, delay, duplicate, hold).
 */
export interface EspFaultHooks {
  /** Could any rule act on ESP in this direction now? false: the per-packet fast path. */
  active(dir: 'in' | 'out'): boolean;
  /** Keep the last packets per SA in this direction (bounded)? Only an esp-replay rule needs them. */
  records(dir: 'in' | 'out'): boolean;
  /** One packet about to be sealed (out: the sequence number it is about to get) or opened (in: as received). */
  decide(dir: 'in' | 'out', spec: ChildSaSpec, spi: number, seq: bigint): EspFaultDecision;
  /** Send (or open) these bytes as the decision says, by calling go: now, later, more than once or never. */
  carry(spec: ChildSaSpec, d: EspFaultDecision, bytes: Buffer, go: (bytes: Buffer) => void): void;
}
