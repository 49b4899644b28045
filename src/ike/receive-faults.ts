// The ike-receive fault point of one IKE_SA (see FaultHooks in services.ts): what the fault rules are told about a
// received datagram, and the datagrams they change, hold back or replay, handed back to the TaskManager. Split from
// the manager because none of it runs unless receive rules exist; the manager creates it on first use.
import { PayloadType } from '../wire/constants.js';
import { decodeMessage } from '../wire/message.js';
import type { IkeMessage } from '../wire/types.js';
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

/** The request the manager answered last (a byte-identical copy of it is a retransmit). */
export type AnsweredRequest = () => { mid: number; request: Buffer } | undefined;

export class ReceiveFaults {
  /** Datagrams received while receive rules exist, for the replay action. */
  private readonly history = new ReceivedHistory();
  /** The last request and response received while receive rules exist, to tell retransmits at the fault point. */
  private readonly lastSeen: { request?: Buffer; response?: Buffer } = {};
  /** The SK payload decrypted to describe a message to the hooks, reused by the manager (nothing decrypts twice). */
  private peeked?: { raw: Buffer; r: UnprotectResult };

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
    const d = f.onReceive(sa, this.describe(m, raw));
    const now = (b: Buffer): void => {
      if (sa.state === 'DESTROYING') return; // held or delayed past the end of the SA: gone with it
      if (b === raw) this.deliver(m, raw, local, remote, d.kind === 'notify' ? d : undefined);
      else this.redeliver(b, local, remote);
    };
    try {
      if (d.kind === 'replay') {
        f.carry(sa, d, raw, () => {
          for (const r of this.history.inOrder(d.order)) if (sa.state !== 'DESTROYING') this.redeliver(r.raw, r.local, r.remote);
        });
      } else f.carry(sa, d, changeBytes(raw, d), now);
    } finally {
      this.peeked = undefined;
    }
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
