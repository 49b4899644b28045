// socket -> decode -> IKE_SA lookup -> that SA's manager. Everything a datagram can do wrong ends here as a log
// line and a counter; nothing thrown while handling one datagram escapes to the socket (the daemon keeps
// serving every other SA).
import type { ConnectionConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { fmtEndpoint, type Endpoint } from '../net/endpoint.js';
import type { IkeDatagram } from '../net/udp-transport.js';
import { ExchangeType, Notify } from '../wire/constants.js';
import { decodeMessage, encodeMessage } from '../wire/message.js';
import { errorNotify } from '../wire/errors.js';
import { bracketed } from './payload-order.js';
import type { IkeHeader, IkeMessage } from '../wire/types.js';
import { IkeSa } from './ike-sa.js';
import type { SaTable } from './sa-table.js';
import type { IkeServices } from './services.js';
import { notify } from './notifies.js';

/** charon's half_open_timeout. */
export const HALF_OPEN_TIMEOUT_MS = 30_000;

export interface DispatchCounters {
  received: number;
  malformed: number;
  unknownSpi: number;
  noConfig: number;
  handlerErrors: number;
}

export class Dispatcher {
  readonly counters: DispatchCounters = { received: 0, malformed: 0, unknownSpi: 0, noConfig: 0, handlerErrors: 0 };

  constructor(private readonly svc: IkeServices, private readonly table: SaTable, private readonly log: Logger) {}

  /** Fault injection: hold every received datagram this long before processing (order is kept). */
  delayMs = 0;

  handle(d: IkeDatagram): void {
    if (this.delayMs > 0) {
      const copy = { ...d, data: Buffer.from(d.data) };
      setTimeout(() => this.handleNow(copy), this.delayMs).unref?.();
      return;
    }
    this.handleNow(d);
  }

  private handleNow(d: IkeDatagram): void {
    this.counters.received++;
    try {
      this.dispatch(d);
    } catch (e) {
      // A bug must cost one datagram, never the daemon.
      this.counters.handlerErrors++;
      this.log.log('NET', 1, `processing packet from ${fmtEndpoint(d.remote)} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    }
  }

  private dispatch(d: IkeDatagram): void {
    const decoded = decodeMessage(d.data);
    if (!decoded.ok) {
      this.counters.malformed++;
      this.log.log('NET', 1, `received packet: from ${fmtEndpoint(d.remote)} to ${fmtEndpoint(d.local)} (${d.data.length} bytes)`);
      this.log.log('ENC', 1, `parsing IKE message from ${fmtEndpoint(d.remote)} failed: ${decoded.error.message}`);
      // Unprotected IKE_SA_INIT requests may be answered (RFC 7296 2.5, 2.21.1); anything else is dropped.
      const h = decoded.error.header;
      const n = errorNotify(decoded.error);
      if (h && n && !h.response && h.exchange === ExchangeType.IKE_SA_INIT && (n.notifyType === Notify.UNSUPPORTED_CRITICAL_PAYLOAD || n.notifyType === Notify.INVALID_MAJOR_VERSION)) {
        this.answerUnprotected(h, d.local, d.remote, n.notifyType, n.data);
      }
      return;
    }
    const m = decoded.value;
    const h = m.header;
    if (h.exchange === ExchangeType.IKE_SA_INIT && !h.response && h.spiR.every((b) => b === 0)) {
      const existing = this.table.findHalfOpen(h.spiI, d.remote);
      if (existing) return existing.manager.handle(m, d.data, d.local, d.remote);
      return this.newResponderSa(m, d);
    }
    const ours = h.initiator ? h.spiR : h.spiI;
    const sa = this.table.bySpiHex(ours.toString('hex'));
    if (!sa) {
      this.counters.unknownSpi++;
      this.log.log('NET', 1, `received packet: from ${fmtEndpoint(d.remote)} to ${fmtEndpoint(d.local)} (${d.data.length} bytes)`);
      this.log.log('IKE', 1, `ignoring ${h.response ? 'response' : 'request'} with message ID ${h.messageId} for unknown IKE_SA ${h.spiI.toString('hex')}_i ${h.spiR.toString('hex')}_r`);
      return;
    }
    sa.manager.handle(m, d.data, d.local, d.remote);
  }

  private newResponderSa(m: IkeMessage, d: IkeDatagram): void {
    const h = m.header;
    const cfg: ConnectionConfig | undefined = this.svc.findConnection(d.local, d.remote);
    if (!cfg) {
      this.counters.noConfig++;
      this.log.log('NET', 1, `received packet: from ${fmtEndpoint(d.remote)} to ${fmtEndpoint(d.local)} (${d.data.length} bytes)`);
      this.log.log('IKE', 1, `no IKE config found for ${d.local.address}...${d.remote.address}, sending NO_PROPOSAL_CHOSEN`);
      this.answerUnprotected(h, d.local, d.remote, Notify.NO_PROPOSAL_CHOSEN);
      return;
    }
    const sa = new IkeSa(this.svc, cfg, false, d.local, d.remote, Buffer.from(h.spiI));
    this.table.addHalfOpen(sa);
    // RFC 7296 2.6: bound half-open state; charon drops it after half_open_timeout (30 s).
    sa.setTimer('half-open', HALF_OPEN_TIMEOUT_MS, () => {
      if (sa.state === 'ESTABLISHED' || sa.state === 'DESTROYING') return;
      sa.log.ike(1, `deleting half open IKE_SA with ${d.remote.address} after timeout`);
      sa.destroy();
    });
    sa.manager.handle(m, d.data, d.local, d.remote);
  }

  /** An IKE_SA_INIT error response without any state (RFC 7296 2.21.1). */
  private answerUnprotected(h: IkeHeader, local: Endpoint, remote: Endpoint, notifyType: number, data: Buffer = Buffer.alloc(0)): void {
    const n = notify(notifyType, data);
    const bytes = encodeMessage({ spiI: h.spiI, spiR: Buffer.alloc(8), majorVersion: 2, minorVersion: 0, exchange: h.exchange, initiator: false, response: true, version: false, messageId: h.messageId }, [n]);
    this.log.log('ENC', 1, `generating IKE_SA_INIT response ${h.messageId} ${bracketed([n])}`);
    this.log.log('NET', 1, `sending packet: from ${fmtEndpoint(local)} to ${fmtEndpoint(remote)} (${bytes.length} bytes)`);
    this.svc.sendIke(bytes, local, remote);
  }
}
