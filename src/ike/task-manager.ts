// One manager per IKE_SA owns the message IDs (window of 1), request retransmission on charon's
// timeout * base^n schedule, the cached response for retransmitted requests, and which tasks run in which
// exchange (RFC 7296 2.1-2.3). Every message of an SA is handled synchronously, start to finish, so two
// messages of one SA never interleave.
import { ExchangeType, Notify } from '../wire/constants.js';
import type { IkeMessage } from '../wire/types.js';
import { charonExchangeName as exchangeName } from '../wire/names.js';
import type { Endpoint } from '../net/endpoint.js';
import type { IkeSa } from './ike-sa.js';
import { InboundGate } from './inbound-gate.js';
import { ReceiveFaults, type InjectedNotify } from './receive-faults.js';
import { giveUpFields, retransmitFields } from './message-events.js';
import { askSend, encode, faultInfo, retransmitOf, retransmitTimeout, send, type Encoded } from './outgoing.js';
import { ReceivedLines } from './packet-log.js';
import { ResponseCache } from './response-cache.js';
import type { FaultMessageInfo, IkeFaultDecision } from './services.js';
import { createResponderTasks, timedTask } from './responder-tasks.js';
import { OutMessage, type InMessage, type Task, type TaskOutcome, type TaskStatus, type TimedExchange } from './task.js';
import { retryLater } from './sa-timers.js';

export { RESEND_INTERVAL_MS } from './response-cache.js';

interface Initiating {
  mid: number;
  exchange: number;
  sent: Encoded;
  retransmitted: number;
  tasks: Task[];
  /** The request as the fault hooks saw it, asked again for each retransmit. */
  info: FaultMessageInfo;
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
  /** RFC 7296 2.1: the last response, for retransmitted requests. */
  private readonly responses: ResponseCache;
  /** A task asked for IKE_SA_INIT again (INVALID_KE_PAYLOAD, COOKIE): restart it with message ID 0. */
  private restartInit = false;

  /** charon's `received packet` line and the rate-limited junk lines of this SA. */
  private readonly lines: ReceivedLines;
  /** Gates, reassembly, ICV and payload rules: what of a received message reaches the tasks (inbound-gate.ts). */
  private readonly inbound: InboundGate;

  constructor(private readonly sa: IkeSa) {
    this.lines = new ReceivedLines(sa.log);
    this.responses = new ResponseCache(sa, this.lines);
    this.inbound = new InboundGate(
      sa,
      this.lines,
      (raw) => this.faulted?.takeDecrypted(raw),
      (...a) => this.answerError(...a),
    );
  }

  get busy(): boolean {
    return this.initiating !== undefined;
  }
  get queuedTypes(): string[] {
    return [...this.active, ...this.queued].map((t) => t.type);
  }

  queue(task: Task): void {
    this.queued.push(task);
  }

  /**
   * Act on what a task returned (a task never queues, times or restarts anything itself; task.ts), right after
   * the call, before the next task of the exchange runs; returns its status.
   */
  private act(outcome: TaskOutcome): TaskStatus {
    if (typeof outcome === 'string') return outcome;
    const r = outcome;
    // Follow-ups run next, ahead of anything queued (the delete after a rekey, a retry with another DH group).
    if (r.followUps?.length) this.queued.unshift(...r.followUps);
    if (r.later?.length) this.queued.push(...r.later);
    if (r.retry) retryLater(this.sa, r.retry.exchange, r.retry.afterMs);
    if (r.restartInit) this.restartInit = true;
    if (r.handOver) {
      const other = r.handOver.sa.manager;
      for (const t of r.handOver.tasks) other.queue(t);
      other.initiate();
    }
    return r.status;
  }

  /**
   * charon's handle_collisions: a task the peer started has been answered while our own request is in flight;
   * offer it to our tasks of that exchange (Task.collide), one of which may be rekeying the same SA (RFC 7296
   * 2.8.1): that task decides the outcome when its response arrives.
   */
  private collide(passive: Task): void {
    for (const t of this.initiating?.tasks ?? []) if (t.collide?.(passive)) return;
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
    const exchange = !this.sa.keys
      ? ExchangeType.IKE_SA_INIT
      : this.sa.state === 'CONNECTING'
        ? ExchangeType.IKE_AUTH
        : (this.active[0]!.exchange ?? ExchangeType.INFORMATIONAL); // active is non-empty here
    const out = new OutMessage(exchange, this.myMid, false);
    for (const t of this.active) {
      if (this.act(t.build(out)) === 'FAILED') {
        this.fail();
        return;
      }
    }
    const info = faultInfo(out);
    const fault = askSend(this.sa, info);
    if (fault?.kind === 'no-delete') return this.finishUnsent(fault, exchange);
    const sent = encode(this.sa, out, fault);
    if (exchange === ExchangeType.IKE_SA_INIT) this.sa.keepInitMessage('request', sent.packet);
    this.initiating = { mid: this.myMid, exchange, sent, retransmitted: 0, tasks: this.active, info };
    this.transmit(fault);
  }

  /**
   * Fault no-delete: the DELETE is never sent; its tasks finish as if the peer had answered with an empty response.
   * The message ID stays unused (the peer never saw it), so the next request takes it.
   */
  private finishUnsent(fault: IkeFaultDecision, exchange: number): void {
    const sa = this.sa;
    sa.svc.faults?.carry(sa, fault, Buffer.alloc(0), () => {});
    const msg: InMessage = { exchange, messageId: this.myMid, isResponse: true, payloads: [], raw: Buffer.alloc(0) };
    const next: Task[] = [];
    try {
      for (const t of this.active) {
        const s = this.act(t.process(msg));
        if (s === 'FAILED') return this.fail();
        if (s === 'NEED_MORE') next.push(t);
      }
    } catch (e) {
      sa.log.ike(1, `${exchangeName(exchange)} finishing unsent request failed: ${e instanceof Error ? e.message : String(e)}`);
      sa.counters.handlerErrors++;
      return this.fail();
    }
    this.active = next;
    this.initiate();
  }

  /** The first transmission carries the decision asked before encoding; every retransmit is asked anew. */
  private transmit(first?: IkeFaultDecision): void {
    const i = this.initiating!;
    send(this.sa, i.sent, i.retransmitted === 0 ? first : askSend(this.sa, { ...i.info, retransmit: true }));
    this.sa.setTimer('retransmit', retransmitTimeout(this.sa, i.retransmitted), () => this.retransmit());
  }

  private retransmit(): void {
    const i = this.initiating;
    if (!i) return;
    const sa = this.sa;
    if (i.retransmitted >= retransmitOf(sa).tries) {
      sa.log.event('IKE', 1, `giving up after ${i.retransmitted} retransmits`, giveUpFields(i.exchange, i.mid, i.retransmitted));
      this.giveUp();
      return;
    }
    i.retransmitted++;
    sa.counters.retransmits++;
    const line = `retransmit ${i.retransmitted} of request with message ID ${i.mid}`;
    sa.log.event('IKE', 1, line, retransmitFields(sa, i.exchange, i.mid, i.retransmitted));
    this.transmit();
  }

  /** The peer did not answer: charon destroys the IKE_SA and applies dpd_action / re-establishes. */
  private giveUp(): void {
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
    const f = this.sa.svc.faults;
    if (f?.active('ike-receive')) {
      this.faulted ??= new ReceiveFaults(
        this.sa,
        (...a) => this.handleNow(...a),
        () => this.responses.answered(),
      );
      return this.faulted.handle(f, m, raw, local, remote);
    }
    this.handleNow(m, raw, local, remote);
  }

  /** The ike-receive fault point, once receive rules have existed (receive-faults.ts). */
  private faulted?: ReceiveFaults;

  /** Handle one datagram, past the fault point. */
  private handleNow(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, inject?: InjectedNotify): void {
    this.sa.counters.messagesIn++;
    this.lines.arrived(raw.length, local, remote);
    try {
      if (m.header.response) this.handleResponse(m, raw, local, remote);
      else this.handleRequest(m, raw, local, remote, inject);
    } finally {
      this.inbound.forget();
      if (this.sa.state === 'ESTABLISHED') this.sa.setupDone();
    }
  }

  private handleRequest(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, inject?: InjectedNotify): void {
    const sa = this.sa;
    const mid = m.header.messageId;
    if (this.responses.holds(mid)) {
      const junk = this.responses.answer(m, raw, local, remote);
      if (junk) this.inbound.drop(m, junk);
      return;
    }
    if (mid !== this.peerMid) {
      sa.counters.invalidMessages++;
      this.lines.junk(`received message ID ${mid}, expected ${this.peerMid}, ignored`);
      return;
    }
    const closed = this.inbound.requestClosed(m.header);
    if (closed) return this.inbound.drop(m, closed);
    const msg = this.inbound.open(m, raw, local, remote);
    if (!msg) {
      // An IKE_SA_INIT that does not fit its rules leaves nothing behind: the half-open SA was only made for it.
      if (m.header.exchange === ExchangeType.IKE_SA_INIT) sa.destroy();
      return;
    }
    if (inject) {
      // fault notify: the request is answered with the error, unprocessed; a failed IKE_SA setup leaves nothing behind
      this.answerError(m, raw, inject.notifyType, inject.data);
      if (msg.exchange === ExchangeType.IKE_SA_INIT || msg.exchange === ExchangeType.IKE_AUTH) sa.destroy();
      return;
    }
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.keepInitMessage('request', raw);
    const out = new OutMessage(msg.exchange, mid, true);
    let tasks: Task[] = [];
    const statuses: TaskStatus[] = [];
    let failed = false;
    try {
      tasks = msg.exchange === ExchangeType.IKE_AUTH && this.passive.length ? this.passive : createResponderTasks(sa, msg);
      for (const t of tasks) {
        if (this.act(t.process(msg)) === 'FAILED') {
          sa.destroy();
          return;
        }
      }
      for (const t of tasks) {
        const s = this.act(t.build(out));
        statuses.push(s);
        if (s === 'FAILED') {
          failed = true;
          break;
        }
        if (s === 'SUCCESS') this.collide(t);
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
    const info = faultInfo(out);
    const fault = askSend(sa, info);
    const sent = encode(sa, out, fault);
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.keepInitMessage('response', sent.packet);
    send(sa, sent, fault);
    this.responses.remember(mid, msg.raw, this.inbound.requestDesc(m), sent, info);
    this.peerMid++;
    // a fault notify in place of an IKE_SA_INIT or IKE_AUTH response: the peer's setup fails, ours goes too
    if (fault?.kind === 'notify' && (msg.exchange === ExchangeType.IKE_SA_INIT || msg.exchange === ExchangeType.IKE_AUTH)) failed = true;
    this.passive = failed ? [] : tasks.filter((_, i) => statuses[i] === 'NEED_MORE');
    if (failed || out.destroyAfter) sa.destroy();
    else this.initiate();
  }

  private handleResponse(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    const i = this.initiating;
    if (!i || m.header.messageId !== i.mid) {
      sa.counters.invalidMessages++;
      this.lines.junk(`received message ID ${m.header.messageId}, expected ${i?.mid ?? this.myMid}, ignored`);
      return;
    }
    const closed = this.inbound.responseClosed(m.header, i.exchange);
    if (closed) return this.inbound.drop(m, closed);
    const isInit = m.header.exchange === ExchangeType.IKE_SA_INIT;
    // Integrity before interpretation: the exchange type of a protected response is judged after its ICV.
    const msg = this.inbound.open(m, raw, local, remote, i.exchange);
    if (!msg) return;
    if (msg.exchange !== i.exchange) {
      // charon: an authenticated response must answer the exchange we started; anything else ends the IKE_SA.
      sa.log.ike(1, `received ${exchangeName(msg.exchange)} response, but expected ${exchangeName(i.exchange)}`);
      sa.counters.invalidMessages++;
      this.fail();
      return;
    }
    if (isInit && i.tasks.some((t) => t.staleResponse?.(msg, i.retransmitted))) return;
    if (isInit) {
      sa.assignResponderSpi(m.header.spiR);
      sa.keepInitMessage('response', raw);
    }
    sa.clearTimer('retransmit');
    this.initiating = undefined;
    this.myMid++;
    const next: Task[] = [];
    try {
      for (const t of i.tasks) {
        const s = this.act(t.process(msg));
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
    if (this.restartInit) {
      // IKE_SA_INIT starts over (INVALID_KE_PAYLOAD, COOKIE): every task of that exchange takes part again.
      this.restartInit = false;
      this.myMid = 0;
      this.active = i.tasks;
    }
    this.initiate();
  }

  /** An authenticated request we cannot parse gets a protected error notify and uses up its message ID. */
  private answerError(m: IkeMessage, raw: Buffer, notifyType: number, data: Buffer): void {
    const out = new OutMessage(m.header.exchange, m.header.messageId, true);
    out.fail(notifyType, data);
    const info = faultInfo(out);
    const fault = askSend(this.sa, info);
    const sent = encode(this.sa, out, fault);
    send(this.sa, sent, fault);
    this.responses.remember(m.header.messageId, raw, this.inbound.requestDesc(m), sent, info);
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
