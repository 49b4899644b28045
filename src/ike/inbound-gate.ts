// What stands between a received message of one IKE_SA and its tasks: the state gates (gates.ts), RFC 7383
// reassembly, the ICV and parsing (message-protect.ts), the payload rules, and the lines logged about a message that
// fails any of them. Everything before the ICV can be forged by anyone who read the SPIs off the wire, so nothing
// here touches the IKE_SA until a message is authenticated: only then is the peer noted alive and followed to a new
// address. Split from the TaskManager, which owns the message IDs and decides what is answered; the one answer given
// from here (an authenticated request that does not parse or breaks the rules) goes through the manager's callback.
import { ExchangeType, Notify } from '../wire/constants.js';
import { errorNotify } from '../wire/errors.js';
import { charonExchangeName as exchangeName } from '../wire/names.js';
import { checkMessageRules } from '../wire/rules.js';
import type { IkeHeader, IkeMessage } from '../wire/types.js';
import type { Endpoint } from '../net/endpoint.js';
import { fragmentOf, Reassembler, receiveFragment } from './fragments.js';
import { requestGate, responseGate, type GateView } from './gates.js';
import type { IkeSa } from './ike-sa.js';
import { describeForEvents, receivedFields, reportNotifies, type MessageDesc } from './message-events.js';
import { unprotect, type UnprotectResult } from './message-protect.js';
import type { ReceivedLines } from './packet-log.js';
import { bracketed } from './payload-order.js';
import type { InMessage } from './task.js';

/** Answer an authenticated request with an error notify and use up its message ID (the manager's answerError). */
export type AnswerError = (m: IkeMessage, raw: Buffer, notifyType: number, data: Buffer) => void;

/** The result of the receive fault point decrypting this datagram already, if it did (nothing is decrypted twice). */
export type Peeked = (raw: Buffer) => UnprotectResult | undefined;

export class InboundGate {
  /** RFC 7383: fragments of the peer's current request and response being collected (fragments.ts); made on the first. */
  private fragments?: Reassembler;
  /** The message open() accepted last, as its message.received event described it; dropped by forget(). */
  private opened?: MessageDesc;

  constructor(
    private readonly sa: IkeSa,
    private readonly lines: ReceivedLines,
    private readonly peeked: Peeked,
    private readonly answerError: AnswerError,
  ) {}

  /** Why the state gates drop a request from the peer, or undefined when it may be processed. */
  requestClosed(h: IkeHeader): string | undefined {
    return requestGate(this.view(), h);
  }

  /** Why the state gates drop a response to our request of exchange `ours`, or undefined. */
  responseClosed(h: IkeHeader, ours: number): string | undefined {
    return responseGate(this.view(), h, ours);
  }

  private view(): GateView {
    return { initiator: this.sa.initiator, state: this.sa.state, hasKeys: this.sa.keys !== undefined };
  }

  /** A message that may not be processed here: counted, logged (rate-limited), never answered. */
  drop(m: IkeMessage, why: string): void {
    this.sa.counters.dropped++;
    this.lines.junk(
      `ignoring ${exchangeName(m.header.exchange)} ${m.header.response ? 'response' : 'request'} with message ID ${m.header.messageId}: ${why}`,
    );
  }

  /** The request being answered as its events describe it: as parsed, or its outer payloads if it did not parse. */
  requestDesc(m: IkeMessage): MessageDesc {
    const o = this.opened;
    if (o && o.messageId === m.header.messageId && !o.isResponse) return o;
    return describeForEvents(m.header.exchange, m.header.messageId, false, m.payloads);
  }

  /** The datagram is handled: nothing of it is kept (held for 10,000 idle IKE_SAs, it added up). */
  forget(): void {
    this.opened = undefined;
  }

  /** Decrypt, log the payload list, and track the peer's current endpoints; undefined when nothing is to be processed. */
  open(m: IkeMessage, datagram: Buffer, local: Endpoint, remote: Endpoint, expected = m.header.exchange): InMessage | undefined {
    const sa = this.sa;
    // an encrypted fragment: kept until its message is complete, which then stands for the request (fragment 1)
    const skf = fragmentOf(m);
    const frag = skf && receiveFragment(sa, (this.fragments ??= new Reassembler()), m, skf, datagram, () => this.lines.flush());
    if (frag?.wait) return undefined;
    const raw = frag ? frag.raw : datagram;
    const r = frag ? frag.r : (this.peeked(raw) ?? unprotect(sa, m, raw));
    this.opened = undefined;
    const kind = m.header.response ? 'response' : 'request';
    if (!r.ok) {
      if (r.reason === 'INTEGRITY') {
        // Anyone who read the SPIs and message ID off the wire can make these: logged like other junk.
        sa.counters.integrityFailures++;
        if (this.lines.countJunk() === undefined) return undefined;
        this.lines.flush();
        sa.log.enc(1, 'integrity check failed');
        sa.log.enc(1, `${exchangeName(m.header.exchange)} ${kind} with message ID ${m.header.messageId} processing failed`);
      } else {
        this.lines.flush();
        sa.counters.invalidMessages++;
        sa.log.enc(1, `could not parse ${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId}: ${r.detail}`);
        const n = r.error && !m.header.response ? errorNotify(r.error) : undefined;
        if (n) this.answerError(m, raw, n.notifyType, n.data);
      }
      return undefined;
    }
    this.lines.flush();
    // message.received rides on the line that lists the payloads; a message failing integrity never gets here
    const desc = describeForEvents(m.header.exchange, m.header.messageId, m.header.response, r.msg.payloads);
    this.opened = desc;
    sa.log.event(
      'ENC',
      1,
      () => `parsed ${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId} ${bracketed(r.msg.payloads)}`,
      receivedFields(m.header, desc, raw.length, local, remote),
    );
    // RFC 7296 1.2-1.5, 3.14: payloads missing, duplicated or out of place, checked once before any task.
    const broken =
      m.header.exchange === expected ? checkMessageRules(m.header.exchange, m.header.response, m.payloads, r.inner) : undefined;
    if (broken) {
      sa.counters.invalidMessages++;
      sa.log.enc(1, `${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId} invalid: ${broken.message}`);
      // Only an authenticated request earns an answer (INVALID_SYNTAX, its message ID used up). A broken response
      // is ignored like one that does not parse (charon's parse_message): our request stays outstanding and is
      // retransmitted, so one bad answer does not end a working IKE_SA.
      if (!m.header.response && r.inner) this.answerError(m, raw, Notify.INVALID_SYNTAX, Buffer.alloc(0));
      return undefined;
    }
    reportNotifies(sa, m.header, r.msg.payloads);
    sa.noteInbound();
    if (m.header.exchange !== ExchangeType.IKE_SA_INIT) {
      // RFC 7296 2.23: after an authenticated message, follow the peer's (NAT-mapped) address and port; the
      // installed CHILD_SAs follow along.
      if (
        remote.address !== sa.remote.address ||
        remote.port !== sa.remote.port ||
        local.port !== sa.local.port ||
        local.address !== sa.local.address
      ) {
        sa.followPeer(local, remote);
      }
    }
    return r.msg;
  }
}
