// Structured protocol events: what scripts, CI, the scenario runner and the TypeScript API assert on instead of
// regexes over free text. An event rides on the charon line that reports it (Logger.event): the text sinks print
// the line as charon would, the JSON sink writes the line with these fields, and event listeners (control `watch`,
// scenarios, the timeline file, the API) receive every event whatever the log levels are.
//
// The names are a public interface (docs/EVENTS.md, checked by test/log/events-docs.test.ts): add names, never
// rename or drop one.

export const EVENT_NAMES = [
  // IKE_SA lifecycle
  'ike.initiating', // we sent the IKE_SA_INIT request of a new IKE_SA
  'ike.established', // IKE_AUTH completed (either role)
  'ike.rekeyed', // an IKE_SA was replaced by a rekey (fields: ike/ikeId of the new SA, oldIkeId)
  'ike.deleted', // a DELETE for the IKE_SA was sent or received (direction says which)
  'ike.failed', // setup failed (reason; notify when the peer refused, e.g. AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN)
  'ike.destroyed', // the IKE_SA is gone (any cause: reason)
  // CHILD_SA lifecycle
  'child.established', // installed (SPIs, TS, proposal)
  'child.rekeyed', // replaced by a rekey (childId of the new one, oldChildId; collision: win/lose when a 2.8.1 collision settled it)
  'child.rekey-failed', // a rekey we started failed (notify, retry in seconds)
  'child.deleted', // a DELETE for the CHILD_SA was sent or received
  'child.failed', // creating a CHILD_SA failed (notify; the IKE_SA may be kept)
  // messages (the timeline): one per datagram sent or received on an IKE_SA
  'message.sent',
  'message.received',
  'message.retransmitted', // retransmits: n, of messageId
  'notify.received', // an error or status notify the peer sent (notify), once per notify
  'dpd.timeout', // retransmits exhausted: the peer is considered dead (charon: giving up after N retransmits)
  'fault.fired', // a fault rule acted (fault, action, ...)
  'fault.added', // a fault rule was added (rule, text): control verb, config, API
  'fault.cleared', // a fault rule was removed (rule)
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

/** Fields of an event; every field except `event` is optional and present only when it applies. */
export interface EventFields {
  event: EventName;
  /** IKE_SA: connection name and unique id (charon's [N]). */
  ike?: string;
  ikeId?: number;
  /** CHILD_SA: config name and unique id ({N}). */
  child?: string;
  childId?: number;
  /** IKE SPIs as 16 hex digits; CHILD SPIs as 8 (inbound = ours). */
  spiI?: string;
  spiR?: string;
  spiIn?: string;
  spiOut?: string;
  exchange?: string;
  messageId?: number;
  direction?: 'in' | 'out';
  request?: boolean;
  /** The notify this event is about (charon's name, e.g. NO_PROPOSAL_CHOSEN). */
  notify?: string;
  /** Payload list as charon prints it in "parsed/generating ... [ ... ]", e.g. ["SA","KE","No","N(NATD_S_IP)"]. */
  payloads?: string[];
  notifies?: string[];
  /** Endpoints as address[port]. */
  peer?: string;
  local?: string;
  size?: number;
  reason?: string;
  [extra: string]: unknown;
}

/** An event as listeners see it: the fields plus when it happened. */
export type IkelabEvent = EventFields & {
  /** ISO-8601 wall time (from the injected clock's wall time). */
  time: string;
};

export type EventListener = (e: IkelabEvent) => void;

export function isEventName(s: string): s is EventName {
  return (EVENT_NAMES as readonly string[]).includes(s);
}
