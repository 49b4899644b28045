// Deleting CHILD_SAs (RFC 7296 1.4.1): a Delete payload with our peer's inbound SPIs (= our outbound); the
// responder answers with the SPIs of its side of the same pairs.
import { formatTsList } from '../../config/ts.js';
import { ExchangeType, PayloadType, ProtocolId } from '../../wire/constants.js';
import type { DeletePayload } from '../../wire/types.js';
import { spiHex, type ChildSa } from '../child-sa.js';
import type { IkeSa } from '../ike-sa.js';
import { findAll, type InMessage, type OutMessage, type Task, type TaskStatus } from '../task.js';

export function closingLine(c: ChildSa): string {
  return `closing CHILD_SA ${c.label} with SPIs ${spiHex(c.spiIn)}_i (${c.counters.bytesIn} bytes) ${spiHex(c.spiOut)}_o (${c.counters.bytesOut} bytes) and TS ${formatTsList(c.localTs)} === ${formatTsList(c.remoteTs)}`;
}

export class ChildDelete implements Task {
  readonly type = 'CHILD_DELETE' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;
  private closing: ChildSa[] = [];

  /** children: what we delete as initiator. */
  constructor(private readonly sa: IkeSa, readonly initiator: boolean, children: ChildSa[] = []) {
    this.closing = children;
  }

  build(out: OutMessage): TaskStatus {
    const sa = this.sa;
    const live = this.closing.filter((c) => sa.children.includes(c));
    if (this.initiator) {
      for (const c of live) {
        c.state = 'DELETING';
        sa.log.chd(1, closingLine(c));
        sa.log.ike(1, `sending DELETE for ESP CHILD_SA with SPI ${spiHex(c.spiIn)}`);
      }
    }
    if (live.length) out.add({ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: live.map((c) => c.spiIn) });
    if (!this.initiator) for (const c of live) sa.removeChild(c);
    return this.initiator ? 'NEED_MORE' : 'SUCCESS';
  }

  process(msg: InMessage): TaskStatus {
    const sa = this.sa;
    if (this.initiator) {
      for (const c of this.closing) sa.removeChild(c);
      sa.log.ike(1, 'CHILD_SA closed');
      return 'SUCCESS';
    }
    for (const d of findAll<DeletePayload>(msg, PayloadType.DELETE)) {
      if (d.protocol !== ProtocolId.ESP && d.protocol !== ProtocolId.AH) continue;
      for (const spi of d.spis) {
        sa.log.ike(1, `received DELETE for ESP CHILD_SA with SPI ${spiHex(spi)}`);
        const c = sa.findChild((x) => x.spiOut.equals(spi));
        if (!c) {
          sa.log.ike(1, `CHILD_SA not found, ignored`);
          continue;
        }
        c.state = 'DELETING';
        sa.log.chd(1, closingLine(c));
        this.closing.push(c);
      }
    }
    return 'NEED_MORE';
  }
}
