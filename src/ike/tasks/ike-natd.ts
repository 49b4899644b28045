// NAT detection (RFC 7296 2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP hashes in IKE_SA_INIT. A mismatch
// means a NAT in between: the initiator floats to the NAT-T port for IKE_AUTH and ESP is UDP-encapsulated.
// With `encap: yes` we send a bogus source hash, as charon does, so the peer believes we are behind a NAT.
import { natdHash } from '../../crypto/natd.js';
import { ExchangeType, Notify, PayloadType } from '../../wire/constants.js';
import type { NotifyPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import type { Endpoint } from '../../net/endpoint.js';
import { findAll, type InMessage, type OutMessage, type Task, type TaskStatus } from '../task.js';
import { notify } from '../notifies.js';

export class IkeNatd implements Task {
  readonly type = 'IKE_NATD' as const;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  private hash(spiR: Buffer, e: Endpoint): Buffer {
    return natdHash(this.sa.spiI, spiR, e.address, e.port);
  }

  build(out: OutMessage): TaskStatus {
    if (out.exchange !== ExchangeType.IKE_SA_INIT) return 'SUCCESS';
    const sa = this.sa;
    // The SPIs hashed are those of the message's own header (responder SPI is zero in the request).
    const spiR = this.initiator ? Buffer.alloc(8) : sa.spiR;
    const src = sa.config.encap || sa.svc.forceEncap ? sa.svc.random.bytes(20) : this.hash(spiR, sa.local);
    out.add(notify(Notify.NAT_DETECTION_SOURCE_IP, src), notify(Notify.NAT_DETECTION_DESTINATION_IP, this.hash(spiR, sa.remote)));
    return this.initiator ? 'NEED_MORE' : 'SUCCESS';
  }

  process(msg: InMessage): TaskStatus {
    if (msg.exchange !== ExchangeType.IKE_SA_INIT) return 'SUCCESS';
    const sa = this.sa;
    const notifies = findAll<NotifyPayload>(msg, PayloadType.NOTIFY);
    const srcs = notifies.filter((n) => n.notifyType === Notify.NAT_DETECTION_SOURCE_IP);
    const dst = notifies.find((n) => n.notifyType === Notify.NAT_DETECTION_DESTINATION_IP);
    if (srcs.length === 0 || !dst) return this.initiator ? 'SUCCESS' : 'NEED_MORE';
    const spiR = this.initiator ? sa.spiR : Buffer.alloc(8);
    // Source hash: the peer's address as we see it; several are allowed (multi-homed peers).
    const peer = this.hash(spiR, sa.remote);
    const natRemote = !srcs.some((n) => n.data.equals(peer));
    const natLocal = !dst.data.equals(this.hash(spiR, sa.local));
    if (natLocal) sa.log.ike(1, 'local host is behind NAT, sending keep alives');
    if (natRemote) sa.log.ike(1, 'remote host is behind NAT');
    // with a faked source hash we behave as if behind a NAT
    sa.natDetected(natLocal || sa.config.encap || sa.svc.forceEncap, natRemote);
    if (this.initiator && sa.natAny) sa.floatToNatt();
    return this.initiator ? 'SUCCESS' : 'NEED_MORE';
  }
}
