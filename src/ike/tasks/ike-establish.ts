// The moment an IKE_SA is up (after AUTH both ways): IkeSa.authenticated() prints the "established between" line,
// applies INITIAL_CONTACT / unique handling and enters state ESTABLISHED, which starts the lifetime timers
// (sa-timers.ts: rekey at rekey_time minus a random share of rand_time, hard end over_time later).
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
    this.sa.authenticated();
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
