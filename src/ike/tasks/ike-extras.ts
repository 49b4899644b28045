// The status notifies charon exchanges in IKE_SA_INIT and IKE_AUTH (fragmentation, signature hash algorithms,
// redirect, childless, multiple auth, MOBIKE, message ID sync), so a peer and an engineer reading the logs see
// the same payload lists as between two charons. We announce only what changes nothing we cannot honour. A peer
// profile's habits (IkeSa.habits) may leave charon's announcements out and add SET_WINDOW_SIZE.
import { ExchangeType, Notify, PayloadType } from '../../wire/constants.js';
import type { NotifyPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import { findAll, type InMessage, type OutMessage, type Task, type TaskStatus } from '../task.js';
import { notify } from '../notifies.js';

const n = notify;
/** RFC 7427 hash algorithm ids charon announces: SHA2-256, SHA2-384, SHA2-512, Identity. */
const HASH_ALGS = Buffer.from([0, 2, 0, 3, 0, 4, 0, 5]);

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};

export class IkeExtras implements Task {
  readonly type = 'IKE_CONFIG_EXTRAS' as const;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  build(out: OutMessage): TaskStatus {
    const c = this.sa.config;
    const { charonAnnouncements: charon, windowSize } = this.sa.habits;
    if (out.exchange === ExchangeType.IKE_SA_INIT) {
      // RFC 7383 2.3: a responder announces fragmentation only back to an initiator that announced it (as charon)
      if (c.fragmentation !== 'no' && (this.initiator || this.sa.peerFragmentation)) out.add(n(Notify.IKEV2_FRAGMENTATION_SUPPORTED));
      if (charon) {
        out.add(n(Notify.SIGNATURE_HASH_ALGORITHMS, HASH_ALGS));
        if (this.initiator) out.add(n(Notify.REDIRECT_SUPPORTED));
        else out.add(n(Notify.CHILDLESS_IKEV2_SUPPORTED), n(Notify.MULTIPLE_AUTH_SUPPORTED));
      }
      return 'NEED_MORE';
    }
    if (out.exchange === ExchangeType.IKE_AUTH) {
      // RFC 7296 2.3: the number of requests the peer may send before our answers (habits.ts: never more than 1)
      if (windowSize !== undefined) out.add(n(Notify.SET_WINDOW_SIZE, u32(windowSize)));
      if (c.mobike) out.add(n(Notify.MOBIKE_SUPPORTED), n(Notify.NO_ADDITIONAL_ADDRESSES));
      if (this.initiator && charon)
        out.add(n(Notify.MULTIPLE_AUTH_SUPPORTED), n(Notify.EAP_ONLY_AUTHENTICATION), n(Notify.IKEV2_MESSAGE_ID_SYNC_SUPPORTED));
      return this.initiator ? 'NEED_MORE' : 'SUCCESS';
    }
    return 'SUCCESS';
  }

  process(msg: InMessage): TaskStatus {
    // RFC 7296 2.3: the peer may announce a larger window; we keep a window of 1 for our requests, which is
    // always allowed, and answer every request the peer sends in order.
    const win = findAll<NotifyPayload>(msg, PayloadType.NOTIFY).find((x) => x.notifyType === Notify.SET_WINDOW_SIZE);
    if (win && win.data.length >= 4) {
      this.sa.peerAnnounced({ window: win.data.readUInt32BE(0) });
      this.sa.log.ike(2, `peer announced a message window of ${this.sa.peerWindow}`);
    }
    if (msg.exchange === ExchangeType.IKE_SA_INIT) {
      const frag = findAll<NotifyPayload>(msg, PayloadType.NOTIFY).some((x) => x.notifyType === Notify.IKEV2_FRAGMENTATION_SUPPORTED);
      if (frag) this.sa.peerAnnounced({ fragmentation: true });
    }
    if (msg.exchange === ExchangeType.IKE_AUTH) {
      const types = new Set(findAll<NotifyPayload>(msg, PayloadType.NOTIFY).map((x) => x.notifyType));
      if (types.has(Notify.MOBIKE_SUPPORTED)) {
        this.sa.peerAnnounced({ mobike: true });
        if (this.sa.config.mobike) this.sa.log.ike(1, 'peer supports MOBIKE');
      }
      return this.initiator ? 'SUCCESS' : 'NEED_MORE';
    }
    return 'NEED_MORE';
  }
}
