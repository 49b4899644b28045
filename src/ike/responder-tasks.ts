// Where an IKE_SA's tasks come from. As responder the manager picks tasks from what the request carries
// (strongSwan task_manager_v2's process_request): IKE_SA_INIT sets up the whole IKE_AUTH chain; CREATE_CHILD_SA
// and INFORMATIONAL pick one feature each. As initiator: the chain of a new IKE_SA, and the exchanges the SA's own
// timers ask the manager for (rekey, expiry, DPD), so that the timers need no task classes and tasks can use the
// timers without an import cycle.
import { ExchangeType, Notify, PayloadType, ProtocolId } from '../wire/constants.js';
import type { DeletePayload, NotifyPayload, SaPayload } from '../wire/types.js';
import type { IkeSa } from './ike-sa.js';
import { findAll, type InMessage, type Task, type TimedExchange } from './task.js';
import { ChildCreate } from './tasks/child-create.js';
import { ChildDelete } from './tasks/child-delete.js';
import { ChildRekey } from './tasks/child-rekey.js';
import { IkeRekey } from './tasks/ike-rekey.js';
import { IkeAuth } from './tasks/ike-auth.js';
import { IkeDelete } from './tasks/ike-delete.js';
import { IkeDpd } from './tasks/ike-dpd.js';
import { IkeEstablish } from './tasks/ike-establish.js';
import { IkeExtras } from './tasks/ike-extras.js';
import { IkeInit } from './tasks/ike-init.js';
import { IkeNatd } from './tasks/ike-natd.js';
import { IkeVendor } from './tasks/ike-vendor.js';

export type { TimedExchange };

/** The initiator's task chain for a new IKE_SA with its first CHILD_SA (order = charon's). */
export function initiatorChain(sa: IkeSa, childName?: string): Task[] {
  const child = childName ? sa.config.children.find((c) => c.name === childName) : sa.config.children[0];
  const chain: Task[] = [
    new IkeVendor(sa, true),
    new IkeInit(sa, true),
    new IkeNatd(sa, true),
    new IkeAuth(sa, true),
    new IkeExtras(sa, true),
    new IkeEstablish(sa, true),
  ];
  if (child) chain.push(new ChildCreate(sa, true, child));
  return chain;
}

/** The task for an exchange an IKE_SA's timers (sa-timers.ts) or a retry ask for through TaskManager.start. */
export function timedTask(sa: IkeSa, x: TimedExchange): Task {
  switch (x.kind) {
    case 'IKE_REKEY':
      return new IkeRekey(sa, true);
    case 'IKE_DELETE':
      return new IkeDelete(sa, true);
    case 'IKE_DPD':
      return new IkeDpd(sa, true);
    case 'CHILD_REKEY':
      return new ChildRekey(sa, true, x.child);
    case 'CHILD_DELETE':
      return new ChildDelete(sa, true, [x.child]);
  }
}

export function createResponderTasks(sa: IkeSa, msg: InMessage): Task[] {
  switch (msg.exchange) {
    case ExchangeType.IKE_SA_INIT:
      return [
        new IkeVendor(sa, false),
        new IkeInit(sa, false),
        new IkeNatd(sa, false),
        new IkeAuth(sa, false),
        new IkeExtras(sa, false),
        new IkeEstablish(sa, false),
        new ChildCreate(sa, false),
      ];
    case ExchangeType.CREATE_CHILD_SA: {
      // RFC 7296 1.3: REKEY_SA names a CHILD_SA to rekey; an IKE proposal without TS rekeys the IKE_SA.
      const notifies = findAll<NotifyPayload>(msg, PayloadType.NOTIFY);
      if (notifies.some((n) => n.notifyType === Notify.REKEY_SA)) return [new ChildRekey(sa, false)];
      const saP = msg.payloads.find((p) => p.type === PayloadType.SA) as SaPayload | undefined;
      if (saP?.proposals.some((p) => p.protocol === ProtocolId.IKE) && !msg.payloads.some((p) => p.type === PayloadType.TSi))
        return [new IkeRekey(sa, false)];
      return [new ChildCreate(sa, false)];
    }
    case ExchangeType.INFORMATIONAL: {
      const deletes = findAll<DeletePayload>(msg, PayloadType.DELETE);
      if (deletes.some((d) => d.protocol === ProtocolId.IKE)) return [new IkeDelete(sa, false)];
      if (deletes.length) return [new ChildDelete(sa, false)];
      return [new IkeDpd(sa, false)];
    }
    default:
      return [];
  }
}
