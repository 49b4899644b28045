// One manager per IKE_SA owns the message IDs (window of 1), request retransmission on charon's
// timeout * base^n schedule, the cached response for retransmitted requests, and which tasks run in which
// exchange (RFC 7296 2.1-2.3). Every message of an SA is handled synchronously, start to finish, so two
// messages of one SA never interleave.
import { ExchangeType, Notify } from '../wire/constants.js';
import { checkMessageRules } from '../wire/rules.js';
import { requestGate, responseGate, type GateView } from './gates.js';
import { errorNotify } from '../wire/errors.js';
import { notifyLongName } from '../wire/names.js';
import { bracketed } from './payload-order.js';
import type { IkeMessage } from '../wire/types.js';
import { charonExchangeName as exchangeName } from '../wire/names.js';
import type { Endpoint } from '../net/endpoint.js';
import { fmtEndpoint } from '../net/endpoint.js';
import type { IkeSa } from './ike-sa.js';
import { protect, unprotect } from './message-protect.js';
import { orderPayloads } from './payload-order.js';
import { createResponderTasks, timedTask, type TimedExchange } from './responder-tasks.js';
import { followEndpoints } from './child-spec.js';
import { OutMessage, type Task, type TaskStatus } from './task.js';
import { notify } from './notifies.js';

/** Junk messages logged per IKE_SA before only every DROP_LOG_EVERY-th is (a flood must not flood the log). */
const DROP_LOG_FIRST = 5;
const DROP_LOG_EVERY = 1000;
/** A cached response is resent at most this often (RFC 7296 2.1 retransmits are seconds apart). */
export const RESEND_INTERVAL_MS = 1000;

interface Initiating {
  mid: number;
  exchange: number;
  packet: Buffer;
  retransmitted: number;
  tasks: Task[];
}

export class TaskManager {
  private queued: Task[] = [];
  private active: Task[] = [];
  /** Responder tasks that span IKE_SA_INIT and IKE_AUTH. */
  private passive: Task[] = [];
  private initiating?: Initiating;
  /** Next message ID we use for a request, and the next one we expect from the peer. */
  myMid = 0;
  peerMid = 0;
  /** The last response we sent, the request it answered (to recognise true retransmits), when it was last resent. */
  private lastResponse?: { mid: number; request: Buffer; packet: Buffer; resentAt: number | undefined };
  /** Set by IKE_INIT on INVALID_KE_PAYLOAD / COOKIE: restart IKE_SA_INIT with message ID 0. */
  resetRequested = false;

  constructor(private readonly sa: IkeSa) {}

  get busy(): boolean {
    return this.initiating !== undefined;
  }
  get queuedTypes(): string[] {
    return [...this.active, ...this.queued].map((t) => t.type);
  }

  queue(task: Task): void {
    this.queued.push(task);
  }

  /** A follow-up that must run next (the delete after a rekey, a retry after INVALID_KE_PAYLOAD). */
  queueFirst(task: Task): void {
    this.queued.unshift(task);
  }

  hasQueued(type: string): boolean {
    return this.queued.some((t) => t.type === type) || this.active.some((t) => t.type === type);
  }

  /** An exchange the IKE_SA's timers ask for (rekey, expiry, DPD): queued, started when nothing is in flight. */
  start(x: TimedExchange): void {
    this.queue(timedTask(this.sa, x));
    this.initiate();
  }

  /** Start the next exchange if none is outstanding. */
  initiate(): void {
    if (this.initiating || this.sa.state === 'DESTROYING') return;
    if (this.active.length === 0) {
      if (this.queued.length === 0) return;
      // Until the IKE_SA is up, all queued tasks take part in IKE_SA_INIT + IKE_AUTH together;
      // afterwards one task (one feature) per exchange.
      const setup = this.sa.state === 'CREATED' || this.sa.state === 'CONNECTING';
      this.active = setup ? this.queued.splice(0) : [this.queued.shift()!];
    }
    const exchange = !this.sa.keys ? ExchangeType.IKE_SA_INIT : this.sa.state === 'CONNECTING' ? ExchangeType.IKE_AUTH : this.active[0].exchange ?? ExchangeType.INFORMATIONAL;
    const out = new OutMessage(exchange, this.myMid, false);
    for (const t of this.active) {
      if (t.build(out) === 'FAILED') {
        this.fail();
        return;
      }
    }
    const packet = this.encode(out);
    if (exchange === ExchangeType.IKE_SA_INIT) this.sa.initRequest = packet;
    this.initiating = { mid: this.myMid, exchange, packet, retransmitted: 0, tasks: this.active };
    this.transmit();
  }

  private encode(out: OutMessage): Buffer {
    const payloads = out.errorNotify
      ? [notify(out.errorNotify.type, out.errorNotify.data)]
      : orderPayloads(out.exchange, out.isResponse, out.payloads);
    this.sa.log.enc(1, () => `generating ${exchangeName(out.exchange)} ${out.isResponse ? 'response' : 'request'} ${out.messageId} ${bracketed(payloads)}`);
    return protect(this.sa, out.exchange, out.messageId, out.isResponse, payloads);
  }

  private send(packet: Buffer, exchange: number, isResponse: boolean, mid: number): void {
    const sa = this.sa;
    sa.log.net(1, `sending packet: ${sa.endpoints} (${packet.length} bytes)`);
    sa.counters.messagesOut++;
    if (sa.svc.faults.beforeSend && !sa.svc.faults.beforeSend(sa, exchange, isResponse, mid)) return;
    sa.svc.sendIke(packet, sa.local, sa.remote);
  }

  private transmit(): void {
    const i = this.initiating!;
    this.send(i.packet, i.exchange, false, i.mid);
    const rt = this.sa.svc.config().daemon.retransmit;
    let timeout = rt.timeout * 1000 * Math.pow(rt.base, i.retransmitted);
    if (rt.limit > 0) timeout = Math.min(timeout, rt.limit * 1000);
    if (rt.jitter > 0) timeout -= (timeout * rt.jitter * Math.random()) / 100;
    this.sa.setTimer('retransmit', timeout, () => this.retransmit());
  }

  private retransmit(): void {
    const i = this.initiating;
    if (!i) return;
    const tries = this.sa.svc.config().daemon.retransmit.tries;
    if (i.retransmitted >= tries) {
      this.sa.log.ike(1, `giving up after ${i.retransmitted} retransmits`);
      this.giveUp(i);
      return;
    }
    i.retransmitted++;
    this.sa.counters.retransmits++;
    this.sa.log.ike(1, `retransmit ${i.retransmitted} of request with message ID ${i.mid}`);
    this.transmit();
  }

  /** The peer did not answer: charon destroys the IKE_SA and applies dpd_action / re-establishes. */
  private giveUp(i: Initiating): void {
    const sa = this.sa;
    if (sa.state === 'CONNECTING') sa.log.ike(1, 'establishing IKE_SA failed, peer not responding');
    const action = sa.config.dpdAction;
    const name = sa.name;
    const wasEstablished = sa.state === 'ESTABLISHED' || sa.state === 'REKEYING';
    const children = sa.children.map((c) => c.config);
    this.initiating = undefined;
    sa.destroy();
    if (wasEstablished) for (const c of children) if (c.dpdAction === 'trap') sa.svc.trapChild(name, c.name);
    if (wasEstablished && (action === 'restart' || children.some((c) => c.dpdAction === 'restart'))) {
      sa.log.ike(1, `restarting CHILD_SA ${children.map((c) => c.name).join(', ') || name}`);
      sa.svc.initiateConnection(name, children[0]?.name);
    }
  }

  /** Entry point from the dispatcher for a message already looked up to this SA. */
  handle(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    this.sa.counters.messagesIn++;
    this.received = { bytes: raw.length, local, remote };
    if (m.header.response) this.handleResponse(m, raw, local, remote);
    else this.handleRequest(m, raw, local, remote);
  }

  /** The datagram being handled, for charon's `received packet` line. */
  private received?: { bytes: number; local: Endpoint; remote: Endpoint };

  /**
   * charon's `received packet` line. Logged once a message is worth looking at, or with the first few junk
   * messages of an SA: anyone who read the SPIs off the wire can send junk, and it must not flood the log.
   */
  private logReceived(): void {
    const r = this.received;
    if (!r) return;
    this.received = undefined;
    this.sa.log.net(1, `received packet: from ${fmtEndpoint(r.remote)} to ${fmtEndpoint(r.local)} (${r.bytes} bytes)`);
  }

  /** Junk for this SA (dropped, never answered): logged for the first few, then every DROP_LOG_EVERY-th. */
  private junk(line: string): void {
    const n = ++this.junkSeen;
    if (n > DROP_LOG_FIRST && n % DROP_LOG_EVERY !== 0) return;
    this.logReceived();
    this.sa.log.ike(1, n > DROP_LOG_FIRST ? `${line} (${n} junk messages on this IKE_SA so far)` : line);
  }
  private junkSeen = 0;

  /** A message that may not be processed here: counted, logged (rate-limited), never answered. */
  private drop(m: IkeMessage, why: string): void {
    this.sa.counters.dropped++;
    this.junk(`ignoring ${exchangeName(m.header.exchange)} ${m.header.response ? 'response' : 'request'} with message ID ${m.header.messageId}: ${why}`);
  }

  private handleRequest(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    const mid = m.header.messageId;
    if (this.lastResponse && mid === this.lastResponse.mid) {
      this.answerRetransmit(m, raw);
      return;
    }
    if (mid !== this.peerMid) {
      sa.counters.invalidMessages++;
      this.junk(`received message ID ${mid}, expected ${this.peerMid}, ignored`);
      return;
    }
    const closed = requestGate(this.gateView(), m.header);
    if (closed) return this.drop(m, closed);
    const msg = this.open(m, raw, local, remote);
    if (!msg) {
      // An IKE_SA_INIT that does not fit its rules leaves nothing behind: the half-open SA was only made for it.
      if (m.header.exchange === ExchangeType.IKE_SA_INIT) sa.destroy();
      return;
    }
    if (sa.svc.faults.beforeProcess && !sa.svc.faults.beforeProcess(sa, msg.exchange, false, mid)) return;
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initRequest = raw;
    const out = new OutMessage(msg.exchange, mid, true);
    let tasks: Task[] = [];
    const statuses: TaskStatus[] = [];
    let failed = false;
    try {
      tasks = msg.exchange === ExchangeType.IKE_AUTH && this.passive.length ? this.passive : createResponderTasks(sa, msg);
      for (const t of tasks) {
        if (t.process(msg) === 'FAILED') {
          sa.destroy();
          return;
        }
      }
      for (const t of tasks) {
        const s = t.build(out);
        statuses.push(s);
        if (s === 'FAILED') {
          failed = true;
          break;
        }
      }
    } catch (e) {
      // A bug or an input a task did not foresee: the request is still answered and its message ID used up
      // (RFC 7296 2.21.2), so the peer is never left retransmitting into a wedged SA.
      sa.log.ike(1, `${exchangeName(msg.exchange)} request ${mid} processing failed: ${e instanceof Error ? e.message : String(e)}`);
      sa.counters.handlerErrors++;
      if (msg.exchange === ExchangeType.IKE_SA_INIT) {
        sa.destroy();
        return;
      }
      out.payloads.length = 0;
      out.fail(Notify.INVALID_SYNTAX);
      failed = msg.exchange === ExchangeType.IKE_AUTH;
      tasks = [];
    }
    const packet = this.encode(out);
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initResponse = packet;
    this.send(packet, msg.exchange, true, mid);
    this.rememberResponse(mid, raw, packet);
    this.peerMid++;
    this.passive = failed ? [] : tasks.filter((_, i) => statuses[i] === 'NEED_MORE');
    if (failed || out.destroyAfter) sa.destroy();
    else this.initiate();
  }

  private rememberResponse(mid: number, request: Buffer, packet: Buffer): void {
    this.lastResponse = { mid, request: Buffer.from(request), packet, resentAt: undefined };
  }

  /**
   * RFC 7296 2.1: a retransmitted request is answered from the cache, never processed twice. Only a byte-identical
   * copy of the request counts (retransmissions are identical), and the cached response goes out at most once per
   * RESEND_INTERVAL_MS: a datagram that merely carries the live SPIs and message ID is no amplifier.
   */
  private answerRetransmit(m: IkeMessage, raw: Buffer): void {
    const sa = this.sa;
    const last = this.lastResponse!;
    if (!raw.equals(last.request)) return this.drop(m, 'not a retransmit of the request answered last');
    const now = sa.svc.timers.now();
    if (last.resentAt !== undefined && now - last.resentAt < RESEND_INTERVAL_MS) {
      sa.counters.retransmitsSuppressed++;
      return;
    }
    last.resentAt = now;
    this.logReceived();
    sa.log.ike(1, `received retransmit of request with ID ${m.header.messageId}, retransmitting response`);
    sa.counters.responsesRetransmitted++;
    this.send(last.packet, m.header.exchange, true, m.header.messageId);
  }

  private gateView(): GateView {
    return { initiator: this.sa.initiator, state: this.sa.state, hasKeys: this.sa.keys !== undefined };
  }

  private handleResponse(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    const i = this.initiating;
    if (!i || m.header.messageId !== i.mid) {
      sa.counters.invalidMessages++;
      this.junk(`received message ID ${m.header.messageId}, expected ${i?.mid ?? this.myMid}, ignored`);
      return;
    }
    const closed = responseGate(this.gateView(), m.header, i.exchange);
    if (closed) return this.drop(m, closed);
    const isInit = m.header.exchange === ExchangeType.IKE_SA_INIT;
    // Integrity before interpretation: the exchange type of a protected response is judged after its ICV.
    const msg = this.open(m, raw, local, remote, i.exchange);
    if (!msg) return;
    if (msg.exchange !== i.exchange) {
      // charon: an authenticated response must answer the exchange we started; anything else ends the IKE_SA.
      sa.log.ike(1, `received ${exchangeName(msg.exchange)} response, but expected ${exchangeName(i.exchange)}`);
      sa.counters.invalidMessages++;
      this.fail();
      return;
    }
    if (sa.svc.faults.beforeProcess && !sa.svc.faults.beforeProcess(sa, msg.exchange, true, i.mid)) return;
    if (isInit) {
      sa.spiR = Buffer.from(m.header.spiR);
      sa.initResponse = raw;
    }
    sa.clearTimer('retransmit');
    this.initiating = undefined;
    this.myMid++;
    const next: Task[] = [];
    try {
      for (const t of i.tasks) {
        const s = t.process(msg);
        if (s === 'FAILED') {
          this.fail();
          return;
        }
        if (s === 'NEED_MORE') next.push(t);
      }
    } catch (e) {
      // Nothing sensible can follow a task that threw halfway through the peer's answer: end the IKE_SA.
      sa.log.ike(1, `${exchangeName(msg.exchange)} response ${i.mid} processing failed: ${e instanceof Error ? e.message : String(e)}`);
      sa.counters.handlerErrors++;
      this.fail();
      return;
    }
    this.active = next;
    if (this.resetRequested) {
      // IKE_SA_INIT starts over (INVALID_KE_PAYLOAD, COOKIE): every task of that exchange takes part again.
      this.resetRequested = false;
      this.myMid = 0;
      this.active = i.tasks;
    }
    this.initiate();
  }

  /** Decrypt, log the payload list, and track the peer's current endpoints. */
  private open(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, expected = m.header.exchange) {
    const sa = this.sa;
    const r = unprotect(sa, m, raw);
    const kind = m.header.response ? 'response' : 'request';
    if (!r.ok) {
      if (r.reason === 'INTEGRITY') {
        // Anyone who read the SPIs and message ID off the wire can make these: logged like other junk.
        sa.counters.integrityFailures++;
        const n = ++this.junkSeen;
        if (n > DROP_LOG_FIRST && n % DROP_LOG_EVERY !== 0) return undefined;
        this.logReceived();
        sa.log.enc(1, 'integrity check failed');
        sa.log.enc(1, `${exchangeName(m.header.exchange)} ${kind} with message ID ${m.header.messageId} processing failed`);
      } else {
        this.logReceived();
        sa.counters.invalidMessages++;
        sa.log.enc(1, `could not parse ${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId}: ${r.detail}`);
        const n = r.error && !m.header.response ? errorNotify(r.error) : undefined;
        if (n) this.answerError(m, raw, n.notifyType, n.data);
      }
      return undefined;
    }
    this.logReceived();
    sa.log.enc(1, () => `parsed ${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId} ${bracketed(r.msg.payloads)}`);
    // RFC 7296 1.2-1.5, 3.14: payloads missing, duplicated or out of place, checked once before any task.
    const broken = m.header.exchange === expected ? checkMessageRules(m.header.exchange, m.header.response, m.payloads, r.inner) : undefined;
    if (broken) {
      sa.counters.invalidMessages++;
      sa.log.enc(1, `${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId} invalid: ${broken.message}`);
      // Only an authenticated request earns an answer (INVALID_SYNTAX, its message ID used up).
      if (!m.header.response && r.inner) this.answerError(m, raw, Notify.INVALID_SYNTAX, Buffer.alloc(0));
      else if (m.header.response && r.inner) this.fail();
      return undefined;
    }
    sa.noteInbound();
    if (m.header.exchange !== ExchangeType.IKE_SA_INIT) {
      // RFC 7296 2.23: after an authenticated message, follow the peer's (NAT-mapped) address and port; the
      // installed CHILD_SAs follow along.
      if (remote.address !== sa.remote.address || remote.port !== sa.remote.port || local.port !== sa.local.port || local.address !== sa.local.address) {
        sa.remote = { ...remote };
        sa.local = { ...local };
        followEndpoints(sa);
      }
    }
    return r.msg;
  }

  /** An authenticated request we cannot parse gets a protected error notify and uses up its message ID. */
  private answerError(m: IkeMessage, raw: Buffer, notifyType: number, data: Buffer): void {
    const out = new OutMessage(m.header.exchange, m.header.messageId, true);
    out.fail(notifyType, data);
    const packet = this.encode(out);
    this.send(packet, m.header.exchange, true, m.header.messageId);
    this.rememberResponse(m.header.messageId, raw, packet);
    this.peerMid++;
  }

  /** A task failed as initiator: the IKE_SA goes away (charon: DESTROY_ME). */
  private fail(): void {
    this.initiating = undefined;
    this.sa.destroy();
  }

  abortAll(reason: string): void {
    this.sa.clearTimer('retransmit');
    this.initiating = undefined;
    for (const t of [...this.active, ...this.queued, ...this.passive]) t.abort?.(reason);
    this.active = [];
    this.queued = [];
    this.passive = [];
  }
}

export const errorNotifyName = notifyLongName;
