// Vendor ID payloads (RFC 7296 3.12), as charon's ike_vendor task: ours go out as the IKE_SA's habits say (a peer
// profile's; none for charon's), and the peer's IKE_SA_INIT vendor IDs are logged by charon's name for them or as
// unknown, then ignored. Vendor IDs in later exchanges are not read (charon does not either).
import { ExchangeType, PayloadType } from '../../wire/constants.js';
import type { VendorPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import { findAll, type InMessage, type OutMessage, type Task, type TaskStatus } from '../task.js';
import { colonHex, vendorIdName } from '../vendor-ids.js';

export class IkeVendor implements Task {
  readonly type = 'IKE_VENDOR' as const;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  build(out: OutMessage): TaskStatus {
    const h = this.sa.habits;
    const ids = out.exchange === ExchangeType.IKE_SA_INIT ? h.initVendorIds : out.exchange === ExchangeType.IKE_AUTH ? h.authVendorIds : [];
    for (const data of ids) out.add({ type: PayloadType.VENDOR, data: Buffer.from(data) });
    if (out.exchange === ExchangeType.IKE_SA_INIT) return 'NEED_MORE';
    return this.initiator ? 'NEED_MORE' : 'SUCCESS';
  }

  process(msg: InMessage): TaskStatus {
    if (msg.exchange === ExchangeType.IKE_SA_INIT) {
      for (const v of findAll<VendorPayload>(msg, PayloadType.VENDOR)) {
        const name = vendorIdName(v.data);
        if (name) this.sa.log.ike(1, `received ${name} vendor ID`);
        else this.sa.log.enc(1, `received unknown vendor ID: ${colonHex(v.data)}`);
      }
      return 'NEED_MORE';
    }
    return this.initiator ? 'SUCCESS' : 'NEED_MORE';
  }
}
