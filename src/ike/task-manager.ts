// One manager per IKE_SA owns the message IDs (window of 1), request retransmission on charon's
// timeout * base^n schedule, the cached response for retransmitted requests, and which tasks run in which
// exchange (RFC 7296 2.1-2.3). Every message of an SA is handled synchronously, start to finish, so two
// messages of one SA never interleave.
import { ExchangeType, Notify, PayloadType } from '../wire/constants.js';
import { decodeMessage } from '../wire/message.js';
import { checkMessageRules } from '../wire/rules.js';
import { requestGate, responseGate, type GateView } from './gates.js';
import { errorNotify } from '../wire/errors.js';
import { notifyLongName } from '../wire/names.js';
import { bracketed } from './payload-order.js';
import type { IkeMessage, Payload } from '../wire/types.js';
import { charonExchangeName as exchangeName } from '../wire/names.js';
import type { Endpoint } from '../net/endpoint.js';
import { fmtEndpoint } from '../net/endpoint.js';
import type { IkeSa } from './ike-sa.js';
import { protect, unprotect, type UnprotectResult } from './message-protect.js';
import { changeBytes, changeContent, outInfo, payloadInfo, ReceivedHistory } from './fault-points.js';
import type { FaultHooks, FaultMessageInfo, IkeFaultDecision } from './services.js';
import { orderPayloads } from './payload-order.js';
import { createResponderTasks, timedTask } from './responder-tasks.js';
import { followEndpoints } from './child-spec.js';
import { OutMessage, type InMessage, type Task, type TaskOutcome, type TaskStatus, type TimedExchange } from './task.js';
import { notify } from './notifies.js';
import { retryLater } from './sa-timers.js';
import { uniform } from '../crypto/random.js';

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
  /** The request as the fault hooks saw it, asked again for each retransmit. */
  info: FaultMessageInfo;
}

/** The error notify a fault rule answers a received request with, instead of processing it. */
type InjectedNotify = Extract<IkeFaultDecision, { kind: 'notify' }>;

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
  private lastResponse?: { mid: number; request: Buffer; packet: Buffer; resentAt: number | undefined; info: FaultMessageInfo };
  /** A task asked for IKE_SA_INIT again (INVALID_KE_PAYLOAD, COOKIE): restart it with message ID 0. */
  private restartInit = false;

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
        : (this.active[0].exchange ?? ExchangeType.INFORMATIONAL);
    const out = new OutMessage(exchange, this.myMid, false);
    for (const t of this.active) {
      if (this.act(t.build(out)) === 'FAILED') {
        this.fail();
        return;
      }
    }
    const info = this.describe(out);
    const fault = this.askSend(info);
    if (fault?.kind === 'no-delete') return this.finishUnsent(fault, exchange);
    const packet = this.encode(out, fault);
    if (exchange === ExchangeType.IKE_SA_INIT) this.sa.initRequest = packet;
    this.initiating = { mid: this.myMid, exchange, packet, retransmitted: 0, tasks: this.active, info };
    this.transmit(fault);
  }

  /** The payloads a built message goes out with: an error notify alone, or every payload in charon's order. */
  private payloadsOf(out: OutMessage): Payload[] {
    return out.errorNotify
      ? [notify(out.errorNotify.type, out.errorNotify.data)]
      : orderPayloads(out.exchange, out.isResponse, out.payloads);
  }

  private describe(out: OutMessage): FaultMessageInfo {
    return outInfo(out.exchange, out.messageId, out.isResponse, out.errorNotify ? this.payloadsOf(out) : out.payloads);
  }

  /** Fault point: a message about to be built into bytes, or resent. undefined: no rule could act here. */
  private askSend(info: FaultMessageInfo): IkeFaultDecision | undefined {
    const f = this.sa.svc.faults;
    return f?.active('ike-send') ? f.onSend(this.sa, info) : undefined;
  }

  /** Encode and protect; a fault decision's content change (notify, ke, unknown-payload, wrong-*) applies first. */
  private encode(out: OutMessage, fault?: IkeFaultDecision): Buffer {
    if (fault?.kind === 'notify') out.fail(fault.notifyType, fault.data);
    const m = changeContent(this.sa, out.exchange, out.messageId, this.payloadsOf(out), fault);
    const shown = m.options.outer ? [...m.options.outer, ...m.payloads] : m.payloads;
    this.sa.log.enc(
      1,
      () => `generating ${exchangeName(out.exchange)} ${out.isResponse ? 'response' : 'request'} ${m.messageId} ${bracketed(shown)}`,
    );
    return protect(this.sa, out.exchange, m.messageId, out.isResponse, m.payloads, m.options);
  }

  /** Send a datagram, through the fault hooks' byte change and timing when a rule decided something. */
  private send(packet: Buffer, fault?: IkeFaultDecision): void {
    const f = this.sa.svc.faults;
    if (!fault || !f) return this.emit(packet);
    f.carry(this.sa, fault, changeBytes(packet, fault), (b) => this.emit(b));
  }

  /** The datagram leaves (now, or when a fault's delay or hold lets it go). */
  private emit(packet: Buffer): void {
    const sa = this.sa;
    sa.log.net(1, `sending packet: ${sa.endpoints} (${packet.length} bytes)`);
    sa.counters.messagesOut++;
    sa.svc.sendIke(packet, sa.local, sa.remote);
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
    this.send(i.packet, i.retransmitted === 0 ? first : this.askSend({ ...i.info, retransmit: true }));
    const rt = this.sa.svc.config().daemon.retransmit;
    let timeout = rt.timeout * 1000 * rt.base ** i.retransmitted;
    if (rt.limit > 0) timeout = Math.min(timeout, rt.limit * 1000);
    if (rt.jitter > 0) timeout -= (timeout * rt.jitter * uniform(this.sa.svc.random)) / 100;
    this.sa.setTimer('retransmit', timeout, () => this.retransmit());
  }

  private retransmit(): void {
    const i = this.initiating;
    if (!i) return;
    const tries = this.sa.svc.config().daemon.retransmit.tries;
    if (i.retransmitted >= tries) {
      this.sa.log.ike(1, `giving up after ${i.retransmitted} retransmits`);
      this.giveUp();
      return;
    }
    i.retransmitted++;
    this.sa.counters.retransmits++;
    this.sa.log.ike(1, `retransmit ${i.retransmitted} of request with message ID ${i.mid}`);
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
    if (f?.active('ike-receive')) return this.receiveFaulted(f, m, raw, local, remote);
    this.handleNow(m, raw, local, remote);
  }

  /** Handle one datagram, past the fault point. */
  private handleNow(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, inject?: InjectedNotify): void {
    this.sa.counters.messagesIn++;
    this.received = { bytes: raw.length, local, remote };
    if (m.header.response) this.handleResponse(m, raw, local, remote);
    else this.handleRequest(m, raw, local, remote, inject);
  }

  /** Datagrams received while receive rules exist, for the replay action. */
  private readonly history = new ReceivedHistory();
  /** The SK payload decrypted to describe a message to the hooks, reused by open() (nothing decrypts twice). */
  private peeked?: { raw: Buffer; r: UnprotectResult };

  /**
   * Fault point, before anything about the datagram is processed: corrupt/truncate change the bytes (so the real
   * integrity or parse failure follows), notify answers the request unprocessed, replay processes the recorded
   * datagrams again; carry() applies drop, delay, duplicate and hold.
   */
  private receiveFaulted(f: FaultHooks, m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    if (f.records()) this.history.record(raw, local, remote);
    const d = f.onReceive(sa, this.receivedInfo(m, raw));
    const now = (b: Buffer): void => {
      if (sa.state === 'DESTROYING') return; // held or delayed past the end of the SA: gone with it
      if (b === raw) this.handleNow(m, raw, local, remote, d.kind === 'notify' ? d : undefined);
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

  /** A datagram the fault point changed, held or replays: decoded again, handled past the fault point. */
  private redeliver(b: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    const decoded = decodeMessage(b);
    if (!decoded.ok) {
      sa.counters.invalidMessages++;
      sa.log.net(1, `received packet: from ${fmtEndpoint(remote)} to ${fmtEndpoint(local)} (${b.length} bytes)`);
      sa.log.enc(1, `parsing IKE message from ${fmtEndpoint(remote)} failed: ${decoded.error.message}`);
      return;
    }
    this.handleNow(decoded.value, b, local, remote);
  }

  /** A received message for the hooks; its inner payloads when it decrypts (decrypting changes no state). */
  private receivedInfo(m: IkeMessage, raw: Buffer): FaultMessageInfo {
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
    if (
      this.lastSeen[seen]?.equals(raw) ||
      (!h.response && this.lastResponse?.mid === h.messageId && raw.equals(this.lastResponse.request))
    )
      info.retransmit = true;
    this.lastSeen[seen] = Buffer.from(raw);
    return info;
  }

  /** The last request and response received while receive rules exist, to tell retransmits at the fault point. */
  private readonly lastSeen: { request?: Buffer; response?: Buffer } = {};

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
    this.junk(
      `ignoring ${exchangeName(m.header.exchange)} ${m.header.response ? 'response' : 'request'} with message ID ${m.header.messageId}: ${why}`,
    );
  }

  private handleRequest(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, inject?: InjectedNotify): void {
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
    if (inject) {
      // fault notify: the request is answered with the error, unprocessed; a failed IKE_SA setup leaves nothing behind
      this.answerError(m, raw, inject.notifyType, inject.data);
      if (msg.exchange === ExchangeType.IKE_SA_INIT || msg.exchange === ExchangeType.IKE_AUTH) sa.destroy();
      return;
    }
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initRequest = raw;
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
    const info = this.describe(out);
    const fault = this.askSend(info);
    const packet = this.encode(out, fault);
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initResponse = packet;
    this.send(packet, fault);
    this.rememberResponse(mid, raw, packet, info);
    this.peerMid++;
    // a fault notify in place of an IKE_SA_INIT or IKE_AUTH response: the peer's setup fails, ours goes too
    if (fault?.kind === 'notify' && (msg.exchange === ExchangeType.IKE_SA_INIT || msg.exchange === ExchangeType.IKE_AUTH)) failed = true;
    this.passive = failed ? [] : tasks.filter((_, i) => statuses[i] === 'NEED_MORE');
    if (failed || out.destroyAfter) sa.destroy();
    else this.initiate();
  }

  private rememberResponse(mid: number, request: Buffer, packet: Buffer, info: FaultMessageInfo): void {
    this.lastResponse = { mid, request: Buffer.from(request), packet, resentAt: undefined, info };
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
    this.send(last.packet, this.askSend({ ...last.info, retransmit: true }));
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

  /** Decrypt, log the payload list, and track the peer's current endpoints. */
  private open(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint, expected = m.header.exchange) {
    const sa = this.sa;
    const r = this.peeked?.raw === raw ? this.peeked.r : unprotect(sa, m, raw);
    this.peeked = undefined;
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
    const info = this.describe(out);
    const fault = this.askSend(info);
    const packet = this.encode(out, fault);
    this.send(packet, fault);
    this.rememberResponse(m.header.messageId, raw, packet, info);
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
