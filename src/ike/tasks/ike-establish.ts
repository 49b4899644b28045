// The moment an IKE_SA is up (after AUTH both ways): the "established between" line, INITIAL_CONTACT / unique
// handling, and state ESTABLISHED, which starts the lifetime timers (IkeSa.established(), sa-timers.ts: rekey at
// rekey_time minus a random share of rand_time, hard end over_time later).
import { ExchangeType } from '../../wire/constants.js';
import type { IkeSa } from '../ike-sa.js';
import type { InMessage, OutMessage, Task, TaskStatus } from '../task.js';

export class IkeEstablish implements Task {
  readonly type = 'IKE_ESTABLISH' as const;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  private establish(): void {
    const sa = this.sa;
    sa.state = 'ESTABLISHED';
    sa.log.ike(0, `IKE_SA ${sa.label} established between ${sa.between}`);
    sa.svc.leftHalfOpen?.(sa);
    // swanctl's unique policy: 'no' honours INITIAL_CONTACT, 'replace' always replaces, 'never' never does.
    const u = sa.config.unique;
    if ((u === 'no' && sa.initialContact) || u === 'replace') sa.svc.dropStaleSas(sa);
    sa.established();
  }

  build(out: OutMessage): TaskStatus {
    if (out.exchange !== ExchangeType.IKE_AUTH) return 'NEED_MORE';
    if (!this.initiator) {
      this.establish();
      return 'SUCCESS';
    }
    return 'NEED_MORE';
  }

  process(msg: InMessage): TaskStatus {
    if (msg.exchange !== ExchangeType.IKE_AUTH) return 'NEED_MORE';
    if (this.initiator) {
      this.establish();
      return 'SUCCESS';
    }
    return 'NEED_MORE';
  }
}
