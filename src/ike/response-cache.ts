// RFC 7296 2.1: the responder keeps its last response and answers a retransmitted request from it, never
// processing a request twice. One per IKE_SA (the window is 1), owned by its TaskManager.
import type { Endpoint } from '../net/endpoint.js';
import { keep } from '../wire/keep.js';
import type { IkeMessage } from '../wire/types.js';
import type { IkeSa } from './ike-sa.js';
import { receivedFields, type MessageDesc } from './message-events.js';
import { askSend, send, type Encoded } from './outgoing.js';
import { isLaterFragment } from './fragments.js';
import type { ReceivedLines } from './packet-log.js';
import type { FaultMessageInfo } from './services.js';

/** A cached response is resent at most this often (RFC 7296 2.1 retransmits are seconds apart). */
export const RESEND_INTERVAL_MS = 1000;

interface Cached {
  mid: number;
  /** The request it answered, byte for byte, and as its message.received event described it. */
  request: Buffer;
  requestDesc: MessageDesc;
  sent: Encoded;
  /** As the fault hooks saw it, asked again for each resend. */
  info: FaultMessageInfo;
  resentAt: number | undefined;
}

export class ResponseCache {
  private last?: Cached;

  constructor(
    private readonly sa: IkeSa,
    private readonly lines: ReceivedLines,
  ) {}

  remember(mid: number, request: Buffer, requestDesc: MessageDesc, sent: Encoded, info: FaultMessageInfo): void {
    // kept until the next request, for an idle IKE_SA as long as it lives: copies that hold nothing else (keep.ts)
    const packet = keep(sent.packet);
    const kept: Encoded = sent.fragments
      ? { ...sent, packet, fragments: sent.fragments.map((f, i) => (i === 0 ? packet : keep(f))) }
      : { ...sent, packet };
    this.last = { mid, request: keep(request), requestDesc, sent: kept, info, resentAt: undefined };
  }

  /** The request answered last, if any. */
  answered(): { mid: number; request: Buffer } | undefined {
    return this.last;
  }

  /** A request with the message ID of the cached response. */
  holds(mid: number): boolean {
    return this.last?.mid === mid;
  }

  /**
   * A request with the cached response's message ID. Only a byte-identical copy of the request counts
   * (retransmissions are identical), and the response goes out at most once per RESEND_INTERVAL_MS: a datagram
   * that merely carries the live SPIs and message ID is no amplifier. Returns why the request is junk, if it is.
   */
  answer(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): string | undefined {
    const sa = this.sa;
    const last = this.last;
    // RFC 7383 2.6.1: a fragmented request's retransmit is answered on its first fragment, the others are ignored
    if (last && isLaterFragment(m)) return undefined;
    if (!last || !raw.equals(last.request)) return 'not a retransmit of the request answered last';
    const now = sa.svc.timers.now();
    if (last.resentAt !== undefined && now - last.resentAt < RESEND_INTERVAL_MS) {
      sa.counters.retransmitsSuppressed++;
      return undefined;
    }
    last.resentAt = now;
    this.lines.flush();
    // the copy is the request answered last: its message.received describes it as that one was parsed
    sa.log.event(
      'IKE',
      1,
      `received retransmit of request with ID ${m.header.messageId}, retransmitting response`,
      receivedFields(m.header, last.requestDesc, raw.length, local, remote),
    );
    sa.counters.responsesRetransmitted++;
    send(sa, last.sent, askSend(sa, { ...last.info, retransmit: true }));
    return undefined;
  }
}
