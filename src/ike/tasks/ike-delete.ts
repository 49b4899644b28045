// INFORMATIONAL with a Delete payload for the IKE_SA itself (RFC 7296 1.4.1): both ends drop the IKE_SA and
// all its CHILD_SAs. Log lines as charon's: "deleting IKE_SA ... between ...", "IKE_SA deleted".
import { ExchangeType, PayloadType, ProtocolId } from '../../wire/constants.js';
import type { IkeSa } from '../ike-sa.js';
import type { InMessage, OutMessage, Task, TaskStatus } from '../task.js';

export class IkeDelete implements Task {
  readonly type = 'IKE_DELETE' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  build(out: OutMessage): TaskStatus {
    const sa = this.sa;
    if (this.initiator) {
      sa.log.ike(1, `deleting IKE_SA ${sa.label} between ${sa.between}`);
      sa.log.event('IKE', 1, `sending DELETE for IKE_SA ${sa.label}`, { event: 'ike.deleted', direction: 'out', ...sa.eventRef });
      sa.deleting('out');
      out.add({ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spiSize: 0, spis: [] });
      return 'NEED_MORE';
    }
    out.destroyAfter = true;
    return 'SUCCESS';
  }

  process(_msg: InMessage): TaskStatus {
    const sa = this.sa;
    if (this.initiator) {
      sa.log.ike(0, 'IKE_SA deleted');
      sa.destroy('deleted');
      return 'SUCCESS';
    }
    sa.log.event('IKE', 1, `received DELETE for IKE_SA ${sa.label}`, { event: 'ike.deleted', direction: 'in', ...sa.eventRef });
    sa.log.ike(1, `deleting IKE_SA ${sa.label} between ${sa.between}`);
    const restart = sa.state === 'ESTABLISHED' ? sa.children.filter((c) => c.config.closeAction === 'start').map((c) => c.name) : [];
    if (sa.state === 'ESTABLISHED') for (const c of sa.children) if (c.config.closeAction === 'trap') sa.svc.trapChild(sa.name, c.name);
    sa.deleting('in');
    sa.log.ike(0, 'IKE_SA deleted');
    // close_action = start: bring the connection back once this IKE_SA is gone (after the response is sent).
    if (restart.length) {
      queueMicrotask(() => {
        for (const child of new Set(restart)) {
          sa.log.ike(1, `restarting CHILD_SA ${child}`);
          sa.svc.initiateConnection(sa.name, child);
        }
      });
    }
    return 'NEED_MORE';
  }
}
