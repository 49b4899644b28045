// Deleting CHILD_SAs (RFC 7296 1.4.1): a Delete payload with our inbound SPIs; the responder answers with the
// inbound SPIs of its side of the same pairs. Log lines as charon's, including the responder's switch of
// outbound traffic to a CHILD_SA that replaced the deleted one in a rekey.
import { formatTsList } from '../../config/ts.js';
import { ExchangeType, PayloadType, ProtocolId } from '../../wire/constants.js';
import type { DeletePayload } from '../../wire/types.js';
import { spiHex, type ChildSa } from '../child-sa.js';
import { activateOutbound, childRef } from '../child-setup.js';
import type { IkeSa } from '../ike-sa.js';
import { ChildCreate } from './child-create.js';
import { findAll, type InMessage, type OutMessage, type Task, type TaskOutcome, type TaskStatus } from '../task.js';

export function closingLine(c: ChildSa): string {
  return `closing CHILD_SA ${c.label} with SPIs ${spiHex(c.spiIn)}_i (${c.counters.bytesIn} bytes) ${spiHex(c.spiOut)}_o (${c.counters.bytesOut} bytes) and TS ${formatTsList(c.localTs)} === ${formatTsList(c.remoteTs)}`;
}

export class ChildDelete implements Task {
  readonly type = 'CHILD_DELETE' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;
  private closing: ChildSa[] = [];

  /** children: what we delete as initiator. */
  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
    children: ChildSa[] = [],
  ) {
    this.closing = children;
  }

  /** As initiator the DELETE we send is the deletion (child.deleted 'out'); as responder it only answers one. */
  private close(c: ChildSa): void {
    const sa = this.sa;
    sa.log.ike(1, closingLine(c));
    const line = `sending DELETE for ESP CHILD_SA with SPI ${spiHex(c.spiIn)}`;
    if (this.initiator) sa.log.event('IKE', 1, line, { event: 'child.deleted', direction: 'out', ...childRef(c) });
    else sa.log.ike(1, line);
  }

  /** Whether this task deletes `c` (as initiator, or as responder once the peer's Delete has been read). */
  deletes(c: ChildSa): boolean {
    return this.closing.includes(c);
  }

  build(out: OutMessage): TaskOutcome {
    const sa = this.sa;
    const live = this.closing.filter((c) => sa.children.includes(c));
    this.closing = live;
    if (live.length) out.add({ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: live.map((c) => c.spiIn) });
    for (const c of live) {
      c.deleting();
      this.close(c);
    }
    if (this.initiator) return 'NEED_MORE';
    for (const c of live) sa.removeChild(c);
    if (live.length) sa.log.ike(1, 'CHILD_SA closed');
    // A rekey's responder sends on the new CHILD_SA only once the old one is gone (charon's order).
    for (const c of live) if (c.successor) activateOutbound(sa, c.successor);
    // close_action = start for a CHILD_SA the peer closed (not one replaced by a rekey): create it again.
    const restart: Task[] = [];
    for (const c of live) {
      if (!c.successor && c.config.closeAction === 'trap') sa.svc.trapChild(sa.name, c.name);
      if (c.successor || c.config.closeAction !== 'start' || sa.state !== 'ESTABLISHED') continue;
      sa.log.ike(1, `restarting CHILD_SA ${c.name}`);
      restart.push(new ChildCreate(sa, true, c.config));
    }
    return restart.length ? { status: 'SUCCESS', later: restart } : 'SUCCESS';
  }

  process(msg: InMessage): TaskStatus {
    const sa = this.sa;
    const spis = findAll<DeletePayload>(msg, PayloadType.DELETE)
      .filter((d) => d.protocol === ProtocolId.ESP || d.protocol === ProtocolId.AH)
      .flatMap((d) => d.spis);
    for (const spi of spis) {
      const line = `received DELETE for ESP CHILD_SA with SPI ${spiHex(spi)}`;
      // the peer's request deletes (child.deleted 'in'); its response to ours only confirms our deletion
      const c = this.initiator ? undefined : sa.findChild((x) => x.spiOut.equals(spi));
      if (c) sa.log.event('IKE', 1, line, { event: 'child.deleted', direction: 'in', ...childRef(c) });
      else sa.log.ike(1, line);
    }
    if (this.initiator) {
      for (const c of this.closing) sa.removeChild(c);
      sa.log.ike(1, 'CHILD_SA closed');
      return 'SUCCESS';
    }
    for (const spi of spis) {
      const c = sa.findChild((x) => x.spiOut.equals(spi));
      if (!c) {
        sa.log.ike(1, `CHILD_SA not found, ignored`);
        continue;
      }
      if (!this.closing.includes(c)) this.closing.push(c);
    }
    return 'NEED_MORE';
  }
}
