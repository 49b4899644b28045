// A task is one feature of an exchange (RFC 7296 2.x), in one role, fixed at creation. build() adds its payloads
// to an outgoing message, process() reads its payloads from an incoming one. Tasks never touch sockets, timers or
// message IDs: the TaskManager of the IKE_SA owns those (strongSwan's task/task_manager split).
import type { Payload } from '../wire/types.js';
import type { IkeSa } from './ike-sa.js';

export type TaskStatus = 'SUCCESS' | 'NEED_MORE' | 'FAILED';

export type TaskType =
  | 'IKE_INIT' | 'IKE_NATD' | 'IKE_AUTH' | 'IKE_CONFIG_EXTRAS' | 'IKE_ESTABLISH' | 'CHILD_CREATE' | 'CHILD_REKEY'
  | 'CHILD_DELETE' | 'IKE_REKEY' | 'IKE_DELETE' | 'IKE_DPD' | 'INFO_NOTIFY';

export interface Task {
  readonly type: TaskType;
  readonly initiator: boolean;
  /** Exchange this task starts when it is the first queued task of an established IKE_SA. */
  readonly exchange?: number;
  build(msg: OutMessage): TaskStatus;
  process(msg: InMessage): TaskStatus;
  /** Called when the IKE_SA goes away while the task is queued or active (e.g. to report a failed initiate). */
  abort?(reason: string): void;
}

export interface InMessage {
  exchange: number;
  messageId: number;
  isResponse: boolean;
  /** Payloads after decryption (the SK payload replaced by its contents). */
  payloads: Payload[];
  /** The whole message as received (for AUTH over IKE_SA_INIT). */
  raw: Buffer;
}

export class OutMessage {
  readonly payloads: Payload[] = [];
  /** Set by a task that fails the exchange as responder: only this error notify is sent (RFC 7296 2.21). */
  errorNotify?: { type: number; data?: Buffer };
  /** Responder: destroy the IKE_SA once this response is sent (DELETE of the IKE_SA). */
  destroyAfter = false;

  constructor(readonly exchange: number, readonly messageId: number, readonly isResponse: boolean) {}

  add(...p: Payload[]): void {
    this.payloads.push(...p);
  }

  fail(notifyType: number, data?: Buffer): void {
    this.errorNotify = { type: notifyType, data };
  }
}

/** Helpers to find payloads in a received message. */
export function find<T extends Payload>(msg: InMessage, type: number): T | undefined {
  return msg.payloads.find((p) => p.type === type) as T | undefined;
}
export function findAll<T extends Payload>(msg: InMessage, type: number): T[] {
  return msg.payloads.filter((p) => p.type === type) as T[];
}

export type { IkeSa };
