// socket -> decode -> IKE_SA lookup -> that SA's manager. Everything a datagram can do wrong ends here as a log
// line and a counter; nothing thrown while handling one datagram escapes to the socket (the daemon keeps
// serving every other SA).
import type { ConnectionConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { LogLimiter, type LimitedKind } from '../log/rate-limit.js';
import { fmtEndpoint, type Endpoint } from '../net/endpoint.js';
import type { IkeDatagram } from '../net/udp-transport.js';
import { ExchangeType, Notify, PayloadType } from '../wire/constants.js';
import { decodeMessage, encodeMessage } from '../wire/message.js';
import { errorNotify } from '../wire/errors.js';
import { bracketed } from './payload-order.js';
import type { IkeHeader, IkeMessage, NoncePayload, NotifyPayload } from '../wire/types.js';
import { CookiePolicy, CookieSecrets } from './cookies.js';
import { IkeSa } from './ike-sa.js';
import type { SaTable } from './sa-table.js';
import type { IkeServices } from './services.js';
import { notify } from './notifies.js';
import { logUndecodable, receivedPacketLine } from './packet-log.js';
import { startHalfOpenTimer } from './sa-timers.js';

/** charon's half_open_timeout (the timer itself lives with the SA's other timers in sa-timers.ts). */
export { HALF_OPEN_TIMEOUT_MS } from './sa-timers.js';

export interface DispatchCounters {
  received: number;
  malformed: number;
  unknownSpi: number;
  noConfig: number;
  handlerErrors: number;
  /** IKE_SA_INIT requests answered with N(COOKIE) only (RFC 7296 2.6): no state, no DH. */
  cookiesSent: number;
  /** IKE_SA_INIT requests dropped over block_threshold or init_limit_half_open. */
  halfOpenRefused: number;
  /** Dropped unanswered because the header cannot belong to the SA it names (IKE_SA_INIT with a responder SPI, SPI pair mismatch). */
  gated: number;
}

export class Dispatcher {
  readonly counters: DispatchCounters = {
    received: 0,
    malformed: 0,
    unknownSpi: 0,
    noConfig: 0,
    handlerErrors: 0,
    cookiesSent: 0,
    halfOpenRefused: 0,
    gated: 0,
  };

  /** Flood paths log a few lines per window and then one summary line (src/log/rate-limit.ts). */
  private readonly limiter: LogLimiter;
  private readonly cookies: CookieSecrets;
  private readonly cookiePolicy = new CookiePolicy();

  constructor(
    private readonly svc: IkeServices,
    private readonly table: SaTable,
    private readonly log: Logger,
  ) {
    this.limiter = new LogLimiter(log, svc.timers);
    this.cookies = new CookieSecrets(svc.random, () => svc.timers.now());
  }

  /** One received datagram. Fault rules (delay, drop, ...) act later, at the IKE_SA's task manager. */
  handle(d: IkeDatagram): void {
    this.counters.received++;
    try {
      this.dispatch(d);
    } catch (e) {
      // A bug must cost one datagram, never the daemon.
      this.counters.handlerErrors++;
      this.log.log(
        'NET',
        1,
        `processing packet from ${fmtEndpoint(d.remote)} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
    }
  }

  private dispatch(d: IkeDatagram): void {
    const decoded = decodeMessage(d.data);
    if (!decoded.ok) {
      this.counters.malformed++;
      const show = this.limiter.allow(JUNK.malformed);
      if (show) logUndecodable(this.log, d.data.length, d.local, d.remote, decoded.error);
      // Unprotected IKE_SA_INIT requests may be answered (RFC 7296 2.5, 2.21.1); anything else is dropped.
      const h = decoded.error.header;
      const n = errorNotify(decoded.error);
      if (
        h &&
        n &&
        !h.response &&
        h.exchange === ExchangeType.IKE_SA_INIT &&
        (n.notifyType === Notify.UNSUPPORTED_CRITICAL_PAYLOAD || n.notifyType === Notify.INVALID_MAJOR_VERSION)
      ) {
        this.answerUnprotected(h, d.local, d.remote, n.notifyType, n.data, show);
      }
      return;
    }
    const m = decoded.value;
    const h = m.header;
    if (h.exchange === ExchangeType.IKE_SA_INIT && !h.response && h.spiR.every((b) => b === 0)) {
      const existing = this.table.findHalfOpen(h.spiI, d.remote);
      if (existing) return existing.manager.handle(m, d.data, d.local, d.remote);
      // RFC 7296 2.6 / charon's receiver: COOKIE and half-open limits before any state or DH work
      if (!this.admit(m, d)) return;
      return this.newResponderSa(m, d);
    }
    if (h.exchange === ExchangeType.IKE_SA_INIT && !h.response) {
      // RFC 7296 3.1: an IKE_SA_INIT request carries a zero responder SPI. With a responder SPI it would address an
      // existing IKE_SA, whose keys and SPIs IKE_SA_INIT must never replace: drop it unanswered.
      this.counters.gated++;
      return;
    }
    const ours = h.initiator ? h.spiR : h.spiI;
    const sa = this.table.bySpiHex(ours.toString('hex'));
    // Once both SPIs are known an IKE_SA is matched by both: a message with our SPI and a foreign peer SPI is not
    // for this SA. The peer SPI is still zero only while our own IKE_SA_INIT is unanswered.
    const theirs = h.initiator ? h.spiI : h.spiR;
    if (sa && !sa.peerSpi.equals(theirs) && !(h.exchange === ExchangeType.IKE_SA_INIT && sa.peerSpi.every((b) => b === 0))) {
      this.counters.gated++;
      return;
    }
    if (!sa) {
      this.counters.unknownSpi++;
      if (!this.limiter.allow(JUNK.unknownSpi)) return;
      this.log.log('NET', 1, receivedPacketLine(d.data.length, d.local, d.remote));
      this.log.log(
        'IKE',
        1,
        `ignoring ${h.response ? 'response' : 'request'} with message ID ${h.messageId} for unknown IKE_SA ${h.spiI.toString('hex')}_i ${h.spiR.toString('hex')}_r`,
      );
      return;
    }
    sa.manager.handle(m, d.data, d.local, d.remote);
  }

  private newResponderSa(m: IkeMessage, d: IkeDatagram): void {
    const h = m.header;
    const cfg: ConnectionConfig | undefined = this.svc.findConnection(d.local, d.remote);
    if (!cfg) {
      this.counters.noConfig++;
      const show = this.limiter.allow(JUNK.noConfig);
      if (show) {
        this.log.log('NET', 1, receivedPacketLine(d.data.length, d.local, d.remote));
        this.log.log('IKE', 1, `no IKE config found for ${d.local.address}...${d.remote.address}, sending NO_PROPOSAL_CHOSEN`);
      }
      this.answerUnprotected(h, d.local, d.remote, Notify.NO_PROPOSAL_CHOSEN, undefined, show);
      return;
    }
    const sa = new IkeSa(this.svc, cfg, false, d.local, d.remote, h.spiI);
    this.table.addHalfOpen(sa);
    // RFC 7296 2.6: bound half-open state; charon drops it after half_open_timeout (30 s).
    startHalfOpenTimer(sa, d.remote.address);
    sa.manager.handle(m, d.data, d.local, d.remote);
  }

  /** An IKE_SA_INIT error response without any state (RFC 7296 2.21.1). */
  private answerUnprotected(
    h: IkeHeader,
    local: Endpoint,
    remote: Endpoint,
    notifyType: number,
    data: Buffer = Buffer.alloc(0),
    show = true,
  ): void {
    const n = notify(notifyType, data);
    const bytes = encodeMessage(
      {
        spiI: h.spiI,
        spiR: Buffer.alloc(8),
        majorVersion: 2,
        minorVersion: 0,
        exchange: h.exchange,
        initiator: false,
        response: true,
        version: false,
        messageId: h.messageId,
      },
      [n],
    );
    if (show) {
      this.log.log('ENC', 1, `generating IKE_SA_INIT response ${h.messageId} ${bracketed([n])}`);
      this.log.log('NET', 1, `sending packet: from ${fmtEndpoint(local)} to ${fmtEndpoint(remote)} (${bytes.length} bytes)`);
    }
    this.svc.sendIke(bytes, local, remote);
  }

  /**
   * charon's receiver (drop_ike_sa_init): while cookies are required (cookie_threshold half-open IKE_SAs overall,
   * cookie_threshold_ip from this address, or either reached within the last 10 s) a request without a valid
   * cookie gets a fresh N(COOKIE) and nothing else (RFC 7296 2.6: a wrong or stale cookie is ignored, which means
   * a new cookie); then requests from an address with block_threshold half-open IKE_SAs, and any while
   * init_limit_half_open are half-open, are dropped unanswered. Stateless: two counter reads and one HMAC.
   */
  private admit(m: IkeMessage, d: IkeDatagram): boolean {
    const dc = this.svc.config().daemon;
    const ip = d.remote.address;
    const total = this.table.halfOpenCount();
    const fromIp = this.table.halfOpenCount(ip);
    if (this.cookiePolicy.required(this.svc.timers.now(), dc.cookieThreshold, total, dc.cookieThresholdIp, fromIp, ip)) {
      const h = m.header;
      const ni = (m.payloads.find((p) => p.type === PayloadType.NONCE) as NoncePayload | undefined)?.data ?? Buffer.alloc(0);
      const c = m.payloads.find((p) => p.type === PayloadType.NOTIFY && (p as NotifyPayload).notifyType === Notify.COOKIE) as
        | NotifyPayload
        | undefined;
      if (!c || !this.cookies.verify(c.data, ni, ip, h.spiI)) {
        this.counters.cookiesSent++;
        const show = this.limiter.allow(JUNK.cookie);
        if (show) {
          this.log.log('NET', 2, receivedPacketLine(d.data.length, d.local, d.remote));
          this.log.log('NET', 2, `sending COOKIE notify to ${ip}`);
        }
        this.answerUnprotected(h, d.local, d.remote, Notify.COOKIE, this.cookies.make(ni, ip, h.spiI), show);
        return false;
      }
    }
    // charon raises block_threshold above cookie_threshold_ip (receiver_create) so cookie-answering peers get in
    const block = dc.blockThreshold && dc.cookieThresholdIp >= dc.blockThreshold ? dc.cookieThresholdIp + 1 : dc.blockThreshold;
    if (block && fromIp >= block) {
      this.counters.halfOpenRefused++;
      if (this.limiter.allow(JUNK.perIpLimit))
        this.log.log('NET', 1, `ignoring IKE_SA setup from ${ip}, per-IP half-open IKE_SA limit of ${block} reached`);
      return false;
    }
    if (dc.initLimitHalfOpen && total >= dc.initLimitHalfOpen) {
      this.counters.halfOpenRefused++;
      if (this.limiter.allow(JUNK.globalLimit))
        this.log.log('NET', 1, `ignoring IKE_SA setup from ${ip}, half-open IKE_SA limit of ${dc.initLimitHalfOpen} reached`);
      return false;
    }
    return true;
  }
}

/** The flood paths whose log lines are rate-limited, with their end-of-window summaries. */
const JUNK = {
  malformed: { group: 'ENC', level: 1, summary: (n, w) => `dropped ${n} malformed datagrams in the last ${w} s` },
  unknownSpi: { group: 'IKE', level: 1, summary: (n, w) => `ignored ${n} messages for unknown IKE_SAs in the last ${w} s` },
  noConfig: {
    group: 'IKE',
    level: 1,
    summary: (n, w) => `answered ${n} IKE_SA_INIT requests without a matching IKE config in the last ${w} s`,
  },
  cookie: { group: 'NET', level: 1, summary: (n, w) => `sent ${n} COOKIE notifies in the last ${w} s` },
  perIpLimit: {
    group: 'NET',
    level: 1,
    summary: (n, w) => `ignored ${n} IKE_SA setups over the per-IP half-open IKE_SA limit in the last ${w} s`,
  },
  globalLimit: {
    group: 'NET',
    level: 1,
    summary: (n, w) => `ignored ${n} IKE_SA setups over the half-open IKE_SA limit in the last ${w} s`,
  },
} satisfies Record<string, LimitedKind>;
