// Liveness check (RFC 7296 2.4): an empty INFORMATIONAL request; the peer answers with an empty response.
// As responder this task also answers any INFORMATIONAL that carries nothing we act on (status notifies).
import { ExchangeType, NOTIFY_ERROR_MAX, PayloadType } from '../../wire/constants.js';
import { notifyLongName } from '../../wire/names.js';
import type { NotifyPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import { findAll, type InMessage, type OutMessage, type Task, type TaskStatus } from '../task.js';

export class IkeDpd implements Task {
  readonly type = 'IKE_DPD' as const;
  readonly exchange = ExchangeType.INFORMATIONAL;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  build(_out: OutMessage): TaskStatus {
    if (this.initiator) {
      this.sa.log.ike(1, 'sending DPD request');
      return 'NEED_MORE';
    }
    return 'SUCCESS';
  }

  process(msg: InMessage): TaskStatus {
    for (const n of findAll<NotifyPayload>(msg, PayloadType.NOTIFY)) {
      if (n.notifyType <= NOTIFY_ERROR_MAX) this.sa.log.ike(1, `received ${notifyLongName(n.notifyType)} notify error`);
    }
    return this.initiator ? 'SUCCESS' : 'NEED_MORE';
  }
}
