// IKEv2 message fragmentation (RFC 7383). A protected message that would not fit the configured fragment size is
// sent as several Encrypted Fragment (SKF) messages with one message ID, each sealed on its own, so a lost or
// forged datagram costs one fragment and an IP-fragmenting path never sees a datagram above the size. Received
// SKF messages are opened one by one (the ICV of each is checked before it is kept), collected per message ID
// and, once complete, handed back as one decrypted message, which then goes through the message rules and the
// tasks exactly like one that came in a single SK payload.
//
// Splitting and reassembly are pure (the cipher and the clock are passed in); receiveFragment() and protectAll()
// bind them to an IKE_SA for the TaskManager.
import type { SkCipher } from '../crypto/sk.js';
import { ExchangeType, GENERIC_PAYLOAD_HEADER_LENGTH, IKE_HEADER_LENGTH, PayloadType } from '../wire/constants.js';
import { decodePayloads, encodePayloads, encodeSkfPrefix } from '../wire/message.js';
import { charonExchangeName as exchangeName } from '../wire/names.js';
import type { IkeHeader, IkeMessage, Payload, SkfPayload } from '../wire/types.js';
import type { IkeSa } from './ike-sa.js';
import { headerFor, protect, type ProtectOptions, type UnprotectResult } from './message-protect.js';
import { bracketed } from './payload-order.js';

/** strongswan.conf charon.fragment_size default: the largest IP datagram an IKE message may need. */
export const DEFAULT_FRAGMENT_SIZE = 1280;
/** Fragments one message may have (charon's limit; a larger Total Fragments drops what was collected). */
export const MAX_FRAGMENTS = 255;
/** Decrypted bytes held for one message being reassembled (charon.max_packet's default, 10000 bytes). */
export const MAX_REASSEMBLED_BYTES = 10000;
/**
 * A fragment set older than this is discarded when the next fragment arrives: the peer retransmits all fragments
 * of a request it got no answer for, so a set that never completes is better started afresh than kept.
 */
export const REASSEMBLY_TIMEOUT_MS = 30_000;

/** Bytes of an SKF payload before its IV: generic header, Fragment Number, Total Fragments. */
const SKF_HEADER_LENGTH = GENERIC_PAYLOAD_HEADER_LENGTH + 4;
/** Bytes of the SK payload's generic header. */
const SK_HEADER_LENGTH = GENERIC_PAYLOAD_HEADER_LENGTH;

type HeaderIn = Omit<IkeHeader, 'length' | 'nextPayload'>;

// ---------------------------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------------------------

/**
 * The largest IKE message (IKE header onwards) that fits charon's fragment_size, which counts the whole IP
 * datagram: less the IPv4 (20) or IPv6 (40) header without options, the UDP header (8) and, when sent from the
 * NAT-T port, the 4-byte non-ESP marker. 0 is charon's "per address family": 576 for IPv4, 1280 for IPv6.
 */
export function maxMessageLength(fragmentSize: number, ipv6: boolean, nonEspMarker: boolean): number {
  const datagram = fragmentSize || (ipv6 ? 1280 : 576);
  return Math.max(1, datagram - (ipv6 ? 40 : 20) - 8 - (nonEspMarker ? 4 : 0));
}

/**
 * The most plaintext one fragment carries when its message may be maxMessage bytes long: what is left after the
 * IKE header and the SKF header and fits the cipher's IV, padding, pad length and ICV. At least 1 byte, so a
 * very small size still makes progress (as charon does).
 */
export function fragmentCapacity(cipher: Pick<SkCipher, 'bodyLength'>, maxMessage: number): number {
  const room = maxMessage - IKE_HEADER_LENGTH - SKF_HEADER_LENGTH;
  // bodyLength grows with the plaintext; the overhead is under 300 bytes, so this walks down a few dozen steps.
  let p = room;
  while (p > 1 && cipher.bodyLength(p) > room) p--;
  return Math.max(1, p);
}

/** Length of the message as one SK payload would carry it (the size charon reports when it splits). */
export function unfragmentedLength(cipher: Pick<SkCipher, 'bodyLength'>, innerLength: number): number {
  return IKE_HEADER_LENGTH + SK_HEADER_LENGTH + cipher.bodyLength(innerLength);
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting
// ---------------------------------------------------------------------------------------------------------------

/**
 * The inner payload chain (already encoded: first payload type + bytes) cut into consecutive pieces of at most
 * `capacity` bytes, each sealed into its own SKF message (RFC 7383 2.5): same header and message ID, Fragment
 * Number 1..n, Total Fragments n, the first inner payload type in fragment 1's Next Payload and 0 in the others.
 * Each fragment's ICV covers its own header and SKF header (the AEAD associated data, likewise).
 */
export function sealFragments(
  header: HeaderIn,
  inner: { firstType: number; bytes: Buffer },
  cipher: Pick<SkCipher, 'bodyLength' | 'seal'>,
  capacity: number,
): Buffer[] {
  const size = Math.max(1, Math.floor(capacity));
  const total = Math.max(1, Math.ceil(inner.bytes.length / size));
  const out: Buffer[] = [];
  for (let n = 1; n <= total; n++) {
    const piece = inner.bytes.subarray((n - 1) * size, n * size);
    const prefix = encodeSkfPrefix(header, inner.firstType, n, total, cipher.bodyLength(piece.length));
    out.push(Buffer.concat([prefix, cipher.seal(piece, prefix)]));
  }
  return out;
}

/**
 * The size limit this SA's outgoing protected messages are split at, or undefined when they go whole: never for
 * IKE_SA_INIT (it has no keys to seal fragments with); with `fragmentation: yes` only if the peer announced
 * support, with `force` always, with `accept` and `no` never (swanctl's semantics).
 */
export function outboundLimit(sa: IkeSa, exchange: number): number | undefined {
  if (exchange === ExchangeType.IKE_SA_INIT || !sa.skOut) return undefined;
  const mode = sa.config.fragmentation;
  if (!(mode === 'force' || (mode === 'yes' && sa.peerFragmentation))) return undefined;
  const d = sa.svc.config().daemon;
  // the transport puts the non-ESP marker in front of IKE sent from the NAT-T port (udp-transport.ts)
  const marker = sa.local.port === d.nattPort && d.nattPort !== d.port;
  return maxMessageLength(d.fragmentSize, sa.remote.address.includes(':'), marker);
}

/**
 * protect() for the TaskManager: the message as one datagram, or as its fragments when fragmentation applies and
 * it would exceed the limit. A fault rule's unprotected extra payloads (ProtectOptions.outer) keep it whole: they
 * are a test of the peer's message rules, not of fragmentation.
 */
export function protectAll(
  sa: IkeSa,
  exchange: number,
  messageId: number,
  isResponse: boolean,
  payloads: Payload[],
  o: ProtectOptions = {},
): Buffer[] {
  const limit = outboundLimit(sa, exchange);
  const cipher = sa.skOut;
  if (limit === undefined || !cipher || o.outer?.length) return [protect(sa, exchange, messageId, isResponse, payloads, o)];
  const inner = encodePayloads(payloads);
  const whole = unfragmentedLength(cipher, inner.bytes.length);
  if (whole <= limit) return [protect(sa, exchange, messageId, isResponse, payloads, o)];
  const header = { ...headerFor(sa, exchange, messageId, isResponse), ...o.spis };
  const packets = sealFragments(header, inner, cipher, fragmentCapacity(cipher, limit));
  sa.log.enc(1, `splitting IKE message (${whole} bytes) into ${packets.length} fragments`);
  const kind = isResponse ? 'response' : 'request';
  packets.forEach((_, i) => {
    const ef = `[ EF(${i + 1}/${packets.length}) ]`;
    sa.log.enc(1, () => `generating ${exchangeName(exchange)} ${kind} ${messageId} ${ef}`);
  });
  return packets;
}

// ---------------------------------------------------------------------------------------------------------------
// Reassembly
// ---------------------------------------------------------------------------------------------------------------

export interface ReassemblyLimits {
  maxFragments: number;
  maxBytes: number;
  timeoutMs: number;
}

export const DEFAULT_LIMITS: ReassemblyLimits = {
  maxFragments: MAX_FRAGMENTS,
  maxBytes: MAX_REASSEMBLED_BYTES,
  timeoutMs: REASSEMBLY_TIMEOUT_MS,
};

/** What became of one received fragment. Only the authenticated outcomes (all but `integrity`) changed anything. */
export type FragmentOutcome =
  /** The ICV did not check: nothing was kept or dropped because of it. */
  | { kind: 'integrity'; detail: string }
  /** Kept; more are missing. */
  | { kind: 'waiting'; number: number; total: number }
  /** Authenticated but not kept (a duplicate, a stale Total Fragments); the set stays as it was. */
  | { kind: 'ignored'; number: number; total: number; why: 'duplicate' | 'stale' }
  /** Authenticated, but the set would break a limit: the set is gone. */
  | { kind: 'dropped'; number: number; total: number; why: 'too-many' | 'too-large' }
  /** The last missing fragment: the whole inner chain, the first fragment's datagram (retransmit detection). */
  | { kind: 'complete'; number: number; total: number; firstType: number; plain: Buffer; firstRaw: Buffer };

interface FragmentSet {
  exchange: number;
  messageId: number;
  total: number;
  parts: Map<number, Buffer>;
  bytes: number;
  firstType: number;
  firstRaw?: Buffer;
  startedAt: number;
}

/**
 * The fragments of one IKE_SA being collected: one set for the peer's request and one for its response (both may
 * be in flight at once), each bounded in fragments and bytes and discarded when a fragment of another message
 * arrives or the set has grown too old.
 */
export class Reassembler {
  private readonly sets: { request?: FragmentSet; response?: FragmentSet } = {};

  constructor(private readonly limits: ReassemblyLimits = DEFAULT_LIMITS) {}

  /** Fragments held (both directions), for tests and stats. */
  get held(): { fragments: number; bytes: number } {
    const s = [this.sets.request, this.sets.response].filter((x) => x !== undefined);
    return { fragments: s.reduce((n, x) => n + x.parts.size, 0), bytes: s.reduce((n, x) => n + x.bytes, 0) };
  }

  clear(): void {
    this.sets.request = undefined;
    this.sets.response = undefined;
  }

  /**
   * One SKF message (`skf` is its last payload, `raw` its bytes). `open` checks the ICV and decrypts (the SA's
   * inbound SK cipher): nothing about the collected sets is looked at or changed before it has succeeded.
   */
  add(m: IkeMessage, skf: SkfPayload, raw: Buffer, open: (body: Buffer, aad: Buffer) => Buffer, now: number): FragmentOutcome {
    // RFC 7383 2.5: the ICV covers everything before it, the Fragment Number and Total Fragments included.
    const aad = raw.subarray(0, raw.length - skf.body.length);
    let plain: Buffer;
    try {
      plain = Buffer.from(open(skf.body, aad));
    } catch (e) {
      return { kind: 'integrity', detail: e instanceof Error ? e.message : String(e) };
    }
    const h = m.header;
    const dir = h.response ? 'response' : 'request';
    const number = skf.fragmentNumber;
    const total = skf.totalFragments;
    let set = this.sets[dir];
    if (set && (set.messageId !== h.messageId || set.exchange !== h.exchange || now - set.startedAt > this.limits.timeoutMs)) {
      set = this.sets[dir] = undefined;
    }
    if (total > this.limits.maxFragments) {
      this.sets[dir] = undefined;
      return { kind: 'dropped', number, total, why: 'too-many' };
    }
    // RFC 7383 2.6: a sender may refragment smaller on retransmit; more fragments than before start the set over,
    // fewer belong to an older transmission.
    if (set && total < set.total) return { kind: 'ignored', number, total, why: 'stale' };
    if (!set || total > set.total) {
      set = this.sets[dir] = {
        exchange: h.exchange,
        messageId: h.messageId,
        total,
        parts: new Map(),
        bytes: 0,
        firstType: PayloadType.NONE,
        startedAt: now,
      };
    }
    if (set.parts.has(number)) return { kind: 'ignored', number, total, why: 'duplicate' };
    if (set.bytes + plain.length > this.limits.maxBytes) {
      this.sets[dir] = undefined;
      return { kind: 'dropped', number, total, why: 'too-large' };
    }
    set.parts.set(number, plain);
    set.bytes += plain.length;
    if (number === 1) {
      set.firstType = skf.innerNext;
      set.firstRaw = Buffer.from(raw);
    }
    if (set.parts.size < set.total) return { kind: 'waiting', number, total };
    this.sets[dir] = undefined;
    const pieces = [...set.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    return { kind: 'complete', number, total, firstType: set.firstType, plain: Buffer.concat(pieces), firstRaw: set.firstRaw! };
  }
}

/**
 * The SKF payload ending a decoded message, if it is a fragment. IKE_SA_INIT is never fragmented (there are no keys
 * yet): an SKF there is not collected but left to the message rules, which refuse it like any encrypted payload.
 */
export function fragmentOf(m: IkeMessage): SkfPayload | undefined {
  if (m.header.exchange === ExchangeType.IKE_SA_INIT) return undefined;
  const last = m.payloads[m.payloads.length - 1];
  return last?.type === PayloadType.SKF ? (last as SkfPayload) : undefined;
}

/**
 * What the TaskManager's inbound gate (inbound-gate.ts) does with a received fragment: `wait` (kept, ignored or
 * dropped; logged), or `open` with the result an unfragmented message would have had (integrity failure, inner chain
 * parse failure, or the reassembled message), and the datagram that stands for the request when its retransmits are recognised
 * (fragment 1: RFC 7383 2.6.1, the response is resent for that one only).
 */
export type ReceivedFragment = { wait: true } | { wait: false; r: UnprotectResult; raw: Buffer };

/**
 * One SKF message of this SA, past its state gate. `logReceived` prints the `received packet` line, called before
 * the first line about an authenticated fragment (integrity failures are logged by the caller, rate-limited).
 */
export function receiveFragment(
  sa: IkeSa,
  reassembler: Reassembler,
  m: IkeMessage,
  skf: SkfPayload,
  raw: Buffer,
  logReceived: () => void,
): ReceivedFragment {
  const base = { exchange: m.header.exchange, messageId: m.header.messageId, isResponse: m.header.response };
  const cipher = sa.skIn;
  if (!cipher) {
    return { wait: false, raw, r: { ok: false, reason: 'NO_KEYS', detail: 'encrypted fragment before keys are established' } };
  }
  const f = reassembler.add(m, skf, raw, (body, aad) => cipher.open(body, aad), sa.svc.timers.now());
  if (f.kind === 'integrity') return { wait: false, raw, r: { ok: false, reason: 'INTEGRITY', detail: f.detail } };
  // authenticated: the peer is alive, whatever becomes of the fragment
  sa.noteInbound();
  logReceived();
  const kind = m.header.response ? 'response' : 'request';
  sa.log.enc(1, () => `parsed ${exchangeName(base.exchange)} ${kind} ${base.messageId} ${bracketed(m.payloads)}`);
  switch (f.kind) {
    case 'waiting':
      sa.log.enc(1, `received fragment #${f.number} of ${f.total}, waiting for complete IKE message`);
      return { wait: true };
    case 'ignored':
      sa.log.enc(
        1,
        f.why === 'duplicate'
          ? `received duplicate fragment #${f.number}`
          : `ignoring fragment #${f.number} of ${f.total}: older transmission`,
      );
      return { wait: true };
    case 'dropped':
      sa.counters.invalidMessages++;
      sa.log.enc(1, f.why === 'too-many' ? 'maximum fragment count exceeded' : 'fragmented IKE message is too large');
      return { wait: true };
    case 'complete': {
      // reported as the size the message would have had in one SK payload, as the sender reported it when splitting
      sa.log.enc(
        1,
        `received fragment #${f.number} of ${f.total}, reassembled fragmented IKE message (${unfragmentedLength(cipher, f.plain.length)} bytes)`,
      );
      const inner = decodePayloads(f.firstType, f.plain);
      const msg = { ...base, raw: f.firstRaw };
      if (!inner.ok)
        return { wait: false, raw: f.firstRaw, r: { ok: false, reason: 'SYNTAX', detail: inner.error.message, error: inner.error } };
      return {
        wait: false,
        raw: f.firstRaw,
        r: { ok: true, msg: { ...msg, payloads: [...m.payloads.slice(0, -1), ...inner.value] }, inner: inner.value },
      };
    }
  }
}

/** A fragment other than the first: a retransmitted request is answered for fragment 1 only (RFC 7383 2.6.1). */
export function isLaterFragment(m: IkeMessage): boolean {
  const f = fragmentOf(m);
  return f !== undefined && f.fragmentNumber > 1;
}
