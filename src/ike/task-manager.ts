// One manager per IKE_SA owns the message IDs (window of 1), request retransmission on charon's
// timeout * base^n schedule, the cached response for retransmitted requests, and which tasks run in which
// exchange (RFC 7296 2.1-2.3). Every message of an SA is handled synchronously, start to finish, so two
// messages of one SA never interleave.
import { ExchangeType } from '../wire/constants.js';
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
import { createResponderTasks } from './responder-tasks.js';
import { OutMessage, type Task, type TaskStatus } from './task.js';
import { notify } from './notifies.js';

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
  private lastResponse?: { mid: number; packet: Buffer };
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
    const sa = this.sa;
    sa.log.net(1, `received packet: from ${fmtEndpoint(remote)} to ${fmtEndpoint(local)} (${raw.length} bytes)`);
    sa.counters.messagesIn++;
    if (m.header.response) this.handleResponse(m, raw, local, remote);
    else this.handleRequest(m, raw, local, remote);
  }

  private handleRequest(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    const mid = m.header.messageId;
    if (this.lastResponse && mid === this.lastResponse.mid) {
      // RFC 7296 2.1: a retransmitted request is answered from the cache, never processed twice.
      sa.log.ike(1, `received retransmit of request with ID ${mid}, retransmitting response`);
      sa.counters.responsesRetransmitted++;
      this.send(this.lastResponse.packet, m.header.exchange, true, mid);
      return;
    }
    if (mid !== this.peerMid) {
      sa.log.ike(1, `received message ID ${mid}, expected ${this.peerMid}, ignored`);
      sa.counters.invalidMessages++;
      return;
    }
    const msg = this.open(m, raw, local, remote);
    if (!msg) return;
    if (sa.svc.faults.beforeProcess && !sa.svc.faults.beforeProcess(sa, msg.exchange, false, mid)) return;
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initRequest = raw;
    const tasks = msg.exchange === ExchangeType.IKE_AUTH && this.passive.length ? this.passive : createResponderTasks(sa, msg);
    const out = new OutMessage(msg.exchange, mid, true);
    for (const t of tasks) {
      if (t.process(msg) === 'FAILED') {
        sa.destroy();
        return;
      }
    }
    const statuses: TaskStatus[] = [];
    let failed = false;
    for (const t of tasks) {
      const s = t.build(out);
      statuses.push(s);
      if (s === 'FAILED') {
        failed = true;
        break;
      }
    }
    const packet = this.encode(out);
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initResponse = packet;
    this.send(packet, msg.exchange, true, mid);
    this.lastResponse = { mid, packet };
    this.peerMid++;
    this.passive = failed ? [] : tasks.filter((_, i) => statuses[i] === 'NEED_MORE');
    if (failed || out.destroyAfter) sa.destroy();
    else this.initiate();
  }

  private handleResponse(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint): void {
    const sa = this.sa;
    const i = this.initiating;
    if (!i || m.header.messageId !== i.mid) {
      sa.log.ike(1, `received message ID ${m.header.messageId}, expected ${i?.mid ?? this.myMid}, ignored`);
      sa.counters.invalidMessages++;
      return;
    }
    if (m.header.exchange !== i.exchange) {
      // charon: a response must answer the exchange we started; anything else ends the IKE_SA.
      sa.log.ike(1, `received ${exchangeName(m.header.exchange)} response, but expected ${exchangeName(i.exchange)}`);
      sa.counters.invalidMessages++;
      this.fail();
      return;
    }
    if (m.header.exchange === ExchangeType.IKE_SA_INIT) sa.spiR = Buffer.from(m.header.spiR);
    const msg = this.open(m, raw, local, remote);
    if (!msg) return;
    if (sa.svc.faults.beforeProcess && !sa.svc.faults.beforeProcess(sa, msg.exchange, true, i.mid)) return;
    if (msg.exchange === ExchangeType.IKE_SA_INIT) sa.initResponse = raw;
    sa.clearTimer('retransmit');
    this.initiating = undefined;
    this.myMid++;
    const next: Task[] = [];
    for (const t of i.tasks) {
      const s = t.process(msg);
      if (s === 'FAILED') {
        this.fail();
        return;
      }
      if (s === 'NEED_MORE') next.push(t);
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
  private open(m: IkeMessage, raw: Buffer, local: Endpoint, remote: Endpoint) {
    const sa = this.sa;
    const r = unprotect(sa, m, raw);
    const kind = m.header.response ? 'response' : 'request';
    if (!r.ok) {
      if (r.reason === 'INTEGRITY') {
        sa.counters.integrityFailures++;
        sa.log.enc(1, 'integrity check failed');
        sa.log.enc(1, `${exchangeName(m.header.exchange)} ${kind} with message ID ${m.header.messageId} processing failed`);
      } else {
        sa.counters.invalidMessages++;
        sa.log.enc(1, `could not parse ${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId}: ${r.detail}`);
        const n = r.error && !m.header.response ? errorNotify(r.error) : undefined;
        if (n) this.answerError(m, n.notifyType, n.data);
      }
      return undefined;
    }
    sa.log.enc(1, () => `parsed ${exchangeName(m.header.exchange)} ${kind} ${m.header.messageId} ${bracketed(r.msg.payloads)}`);
    sa.lastInbound = sa.svc.timers.now();
    if (m.header.exchange !== ExchangeType.IKE_SA_INIT) {
      // RFC 7296 2.23: after an authenticated message, follow the peer's (NAT-mapped) address and port.
      if (remote.address !== sa.remote.address || remote.port !== sa.remote.port) sa.remote = { ...remote };
      if (local.port !== sa.local.port || local.address !== sa.local.address) sa.local = { ...local };
    }
    return r.msg;
  }

  /** An authenticated request we cannot parse gets a protected error notify and uses up its message ID. */
  private answerError(m: IkeMessage, notifyType: number, data: Buffer): void {
    const out = new OutMessage(m.header.exchange, m.header.messageId, true);
    out.fail(notifyType, data);
    const packet = this.encode(out);
    this.send(packet, m.header.exchange, true, m.header.messageId);
    this.lastResponse = { mid: m.header.messageId, packet };
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
