// The ike-receive fault point of one IKE_SA (see FaultHooks in services.ts): what the fault rules are told about a
// received datagram, and the datagrams they change, hold back or replay, handed back to the TaskManager. Split from
// the manager because none of it runs unless receive rules exist; the manager creates it on first use.
// It also starts the rekey a `collide` rule asks for, before the peer's rekey request it fired on is processed.
import { ExchangeType, Notify, PayloadType } from '../wire/constants.js';
import { decodeMessage } from '../wire/message.js';
import type { IkeMessage, NotifyPayload } from '../wire/types.js';
import type { ChildSa } from './child-sa.js';
import type { Endpoint } from '../net/endpoint.js';
import type { IkeSa } from './ike-sa.js';
import { unprotect, type UnprotectResult } from './message-protect.js';
import { changeBytes, payloadInfo, ReceivedHistory } from './fault-points.js';
import { logUndecodable } from './packet-log.js';
import type { FaultHooks, FaultMessageInfo, IkeFaultDecision } from './services.js';

/** The error notify a fault rule answers a received request with, instead of processing it. */
export type InjectedNotify = Extract<IkeFaultDecision, { kind: 'notify' }>;

/** The manager's handling of one datagram past the fault point. */
export type Deliver = (m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, inject?: InjectedNotify) => void;

/** A `collide` decision (services.ts). */
type Collide = Extract<IkeFaultDecision, { kind: 'collide' }>;

/**
 * The nonces `collide` plans (IkeSa.planRekeyNonces). RFC 7296 2.8.1 and charon 5.9.8 (child_rekey.c
 * handle_collision, child_create.c get_lower_nonce) alike: each exchange's lower nonce is taken, and the exchange
 * whose lower nonce is the lower of the two made the redundant CHILD_SA (charon compares with memcmp over the
 * shorter length; an equal pair loses there). All zeros is the lowest nonce there is, so the exchange that is to
 * lose gets it from us, whatever the peer's random nonces; all ones in the other keeps ours out of the way. 32
 * octets: charon's length, and ours (ike-init.ts NONCE_SIZE).
 */
const LOSING_NONCE = Buffer.alloc(32, 0x00);
const WINNING_NONCE = Buffer.alloc(32, 0xff);

/** Our nonces for a collision ikelab is to win (the peer's exchange gets the lowest) or to lose (ours gets it). */
export function collideNonces(outcome: 'win' | 'lose'): { initiator: Buffer; responder: Buffer } {
  return outcome === 'win'
    ? { initiator: Buffer.from(WINNING_NONCE), responder: Buffer.from(LOSING_NONCE) }
    : { initiator: Buffer.from(LOSING_NONCE), responder: Buffer.from(WINNING_NONCE) };
}

/** The request the manager answered last (a byte-identical copy of it is a retransmit). */
export type AnsweredRequest = () => { mid: number; request: Buffer } | undefined;

export class ReceiveFaults {
  /** Datagrams received while receive rules exist, for the replay action. */
  private readonly history = new ReceivedHistory();
  /** The last request and response received while receive rules exist, to tell retransmits at the fault point. */
  private readonly lastSeen: { request?: Buffer; response?: Buffer } = {};
  /** The SK payload decrypted to describe a message to the hooks, reused by the manager (nothing decrypts twice). */
  private peeked?: { raw: Buffer; r: UnprotectResult };
  /** The CHILD_SA the datagram being handled rekeys (its N(REKEY_SA)), for `collide`. */
  private rekeyed?: ChildSa;

  constructor(
    private readonly sa: IkeSa,
    private readonly deliver: Deliver,
    private readonly answered: AnsweredRequest,
  ) {}

  /**
   * Before anything about the datagram is processed: corrupt/truncate change the bytes (so the real integrity or
   * parse failure follows), notify answers the request unprocessed, replay processes the recorded datagrams again;
   * carry() applies drop, delay, duplicate and hold.
   */
  handle(f: FaultHooks, m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    if (f.records()) this.history.record(raw, local, remote);
    const info = this.describe(m, raw);
    const d = f.onReceive(sa, info);
    if (d.kind === 'pass' && info.rekeys?.busy)
      sa.log.ike(
        2,
        `fault rules: the peer's rekey of CHILD_SA ${info.rekeys.label} came while ${info.rekeys.busy}: collide waits for its next one`,
      );
    const now = (b: Buffer): void => {
      if (sa.state === 'DESTROYING') return; // held or delayed past the end of the SA: gone with it
      if (b === raw) this.deliver(m, raw, local, remote, d.kind === 'notify' ? d : undefined);
      else this.redeliver(b, local, remote);
    };
    try {
      if (d.kind === 'collide') this.collide(d);
      if (d.kind === 'replay') {
        f.carry(sa, d, raw, () => {
          for (const r of this.history.inOrder(d.order)) if (sa.state !== 'DESTROYING') this.redeliver(r.raw, r.local, r.remote);
        });
      } else f.carry(sa, d, changeBytes(raw, d), now);
    } finally {
      this.peeked = undefined;
      this.rekeyed = undefined;
      // the peer's request has been processed (collide's carry is immediate): an unused planned nonce goes now
      if (d.kind === 'collide') sa.dropRekeyNonces();
    }
  }

  /**
   * Fault `collide`: before the peer's rekey request is processed, start our rekey of the same CHILD_SA and send its
   * request, so the two cross (RFC 7296 2.8.1); the nonce plan decides which survives. Processing the peer's request
   * then finds the CHILD_SA rekeying ("detected rekey collision") and the manager hands that exchange to ours
   * (Task.collide), which settles the collision when the peer answers, as the peer does with ours.
   */
  private collide(d: Collide): void {
    const sa = this.sa;
    const old = this.rekeyed;
    // the fault engine applies collide only where describe() found nothing in the way (match.ts), so this holds;
    // FaultHooks is structural, and a hooks implementation that disagrees gets this line, not a rekey in a wrong state
    const why = old ? whyNoRekeyNow(sa, old) : 'the CHILD_SA is gone';
    if (!old || why) {
      sa.log.ike(1, `fault '${d.rule}': no rekey of CHILD_SA ${old?.label ?? '?'} to collide with: ${why}; the peer's rekey goes alone`);
      return;
    }
    sa.planRekeyNonces(collideNonces(d.outcome));
    sa.manager.start({ kind: 'CHILD_REKEY', child: old });
  }

  /** The decryption done for the hooks, if it was of these bytes (taken once). */
  takeDecrypted(raw: Buffer): UnprotectResult | undefined {
    const p = this.peeked;
    this.peeked = undefined;
    return p?.raw === raw ? p.r : undefined;
  }

  /** A datagram the fault point changed, held or replays: decoded again, handled past the fault point. */
  private redeliver(b: Buffer, local: Endpoint, remote: Endpoint): void {
    const decoded = decodeMessage(b);
    if (!decoded.ok) {
      this.sa.counters.invalidMessages++;
      logUndecodable(this.sa.log, b.length, local, remote, decoded.error);
      return;
    }
    this.deliver(decoded.value, b, local, remote);
  }

  /** A received message for the hooks; its inner payloads when it decrypts (decrypting changes no state). */
  private describe(m: IkeMessage, raw: Buffer): FaultMessageInfo {
    const h = m.header;
    const info: FaultMessageInfo = { exchange: h.exchange, isResponse: h.response, messageId: h.messageId };
    const last = m.payloads[m.payloads.length - 1];
    if (last?.type !== PayloadType.SK) Object.assign(info, payloadInfo(m.payloads));
    else if (this.sa.skIn) {
      const r = unprotect(this.sa, m, raw);
      this.peeked = { raw, r };
      if (r.ok) Object.assign(info, payloadInfo(r.msg.payloads));
      if (r.ok && h.exchange === ExchangeType.CREATE_CHILD_SA && !h.response) {
        // the CHILD_SA a rekey request names, by the peer's SPI of it (our outbound one), as ChildRekey finds it
        const n = r.msg.payloads.find((p) => p.type === PayloadType.NOTIFY && (p as NotifyPayload).notifyType === Notify.REKEY_SA);
        const spi = (n as NotifyPayload | undefined)?.spi;
        this.rekeyed = spi?.length === 4 ? this.sa.findChild((c) => c.spiOut.equals(spi)) : undefined;
        if (this.rekeyed) {
          const busy = whyNoRekeyNow(this.sa, this.rekeyed);
          info.rekeys = { child: this.rekeyed.name, label: this.rekeyed.label, ...(busy ? { busy } : {}) };
        }
      }
    }
    // the same bytes as the last request (response) seen: a retransmit, answered or not (rules count it as one message)
    const seen = h.response ? 'response' : 'request';
    const answered = this.answered();
    if (this.lastSeen[seen]?.equals(raw) || (!h.response && answered?.mid === h.messageId && raw.equals(answered.request)))
      info.retransmit = true;
    this.lastSeen[seen] = Buffer.from(raw);
    return info;
  }
}

/** Why ikelab could not start its own rekey of `child` right now (the `collide` action's precondition), or undefined. */
function whyNoRekeyNow(sa: IkeSa, child: ChildSa): string | undefined {
  if (child.state !== 'INSTALLED') return `it is ${child.state}`;
  if (sa.state !== 'ESTABLISHED') return `the IKE_SA is ${sa.state}`;
  if (sa.manager.busy || sa.manager.queuedTypes.length > 0) return 'an exchange of ours is in flight';
  return undefined;
}
