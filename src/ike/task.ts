// A task is one feature of an exchange (RFC 7296 2.x), in one role, fixed at creation. build() adds its payloads
// to an outgoing message, process() reads its payloads from an incoming one. As in strongSwan's task/task_manager
// split, the TaskManager of the IKE_SA owns everything around the exchange, and a task touches none of it:
//   - sockets, message IDs, retransmits and the response cache;
//   - the task queue: a task returns the tasks that must follow (TaskResult.followUps / later / handOver);
//   - timers: a task returns "retry after T" (TaskResult.retry) and the manager arms it (sa-timers.ts retryLater);
//   - restarting IKE_SA_INIT (TaskResult.restartInit: message ID 0, the same tasks again).
// The lifetime timers of an SA follow from its state, not from a task: IkeSa.established(), and installChild /
// moveChildren in child-setup.ts (charon's ike_sa set_state and CHILD_SA install), all in sa-timers.ts.
// Two rekeys of one SA crossing (RFC 7296 2.8.1, 2.8.2), or a delete crossing a rekey (2.25.1), go through one
// explicit step: when a task the peer started has been answered, the manager offers it to its own task in flight
// (Task.collide, charon's handle_collisions), which decides the outcome once its own response arrives.
import type { Payload } from '../wire/types.js';
import type { ChildSa } from './child-sa.js';
import type { IkeSa } from './ike-sa.js';

export type TaskStatus = 'SUCCESS' | 'NEED_MORE' | 'FAILED';

export type TaskType =
  | 'IKE_VENDOR'
  | 'IKE_INIT'
  | 'IKE_NATD'
  | 'IKE_AUTH'
  | 'IKE_CONFIG_EXTRAS'
  | 'IKE_ESTABLISH'
  | 'CHILD_CREATE'
  | 'CHILD_REKEY'
  | 'CHILD_DELETE'
  | 'IKE_REKEY'
  | 'IKE_DELETE'
  | 'IKE_DPD'
  | 'INFO_NOTIFY';

/** An exchange the IKE_SA's timers start (sa-timers.ts) through TaskManager.start; also what a retry starts. */
export type TimedExchange =
  | { kind: 'IKE_REKEY' }
  | { kind: 'IKE_DELETE' }
  | { kind: 'IKE_DPD' }
  | { kind: 'CHILD_REKEY'; child: ChildSa }
  | { kind: 'CHILD_DELETE'; child: ChildSa };

/** What a task asks of its TaskManager besides its status; the manager acts on it right after the call returns. */
export interface TaskResult {
  status: TaskStatus;
  /** Run next, ahead of anything queued, in this order: the delete after a rekey, a retry with the DH group the peer asked for. */
  followUps?: Task[];
  /** Queued behind everything else: close_action = start re-creating a CHILD_SA the peer closed. */
  later?: Task[];
  /** Tasks for another IKE_SA, started there at once: the redundant new IKE_SA of a lost rekey collision deletes itself. */
  handOver?: { sa: IkeSa; tasks: Task[] };
  /** Start this exchange again after afterMs (charon's retry of a failed rekey, 10..15 s later). */
  retry?: { afterMs: number; exchange: TimedExchange };
  /** IKE_SA_INIT starts over: message ID 0, every task of that exchange again (INVALID_KE_PAYLOAD, COOKIE). */
  restartInit?: boolean;
}

/** A bare status when there is nothing else to ask for. */
export type TaskOutcome = TaskStatus | TaskResult;

export const statusOf = (o: TaskOutcome): TaskStatus => (typeof o === 'string' ? o : o.status);

export interface Task {
  readonly type: TaskType;
  readonly initiator: boolean;
  /** Exchange this task starts when it is the first queued task of an established IKE_SA. */
  readonly exchange?: number;
  build(msg: OutMessage): TaskOutcome;
  process(msg: InMessage): TaskOutcome;
  /** Called when the IKE_SA goes away while the task is queued or active (e.g. to report a failed initiate). */
  abort?(reason: string): void;
  /**
   * charon's collide(): `other` is a task the peer started on this IKE_SA that has just been answered while this
   * task's own request is in flight. Returns true when the two concern the same SA and this task takes `other`
   * into account when its response arrives (a rekey collision; a delete of what this task rekeys).
   */
  collide?(other: Task): boolean;
  /**
   * True when a response to this task's request is an answer to an EARLIER attempt of the same exchange, not to the
   * one in flight (`retransmitted`: how often the one in flight has been resent): the manager then ignores it and
   * keeps waiting, with the retransmit timer running. Only IKE_SA_INIT has attempts (ike-init.ts).
   */
  staleResponse?(msg: InMessage, retransmitted: number): boolean;
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

  constructor(
    readonly exchange: number,
    readonly messageId: number,
    readonly isResponse: boolean,
  ) {}

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
