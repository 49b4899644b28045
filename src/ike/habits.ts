// The wire habits of a peer profile: what an IKE_SA sends beyond the protocol's needs because that kind of peer
// does (vendor IDs, notifies it always adds, the order of its payloads). One object per IKE_SA (IkeSa.habits), read
// by the tasks; no task asks which profile it runs. Values and sources: docs/PROFILES.md.
import type { PeerProfile } from '../config/profiles.js';
import { Notify } from '../wire/constants.js';
import { CISCO_COPYRIGHT, CISCO_DELETE_REASON, CISCO_FLEXVPN_SUPPORTED, CISCO_GRANITE } from './vendor-ids.js';

export interface WireHabits {
  /** Vendor ID payloads in our IKE_SA_INIT request or response. */
  readonly initVendorIds: readonly Buffer[];
  /** Vendor ID payloads in our IKE_AUTH request or response. */
  readonly authVendorIds: readonly Buffer[];
  /**
   * charon's announcements beyond what a setting asks for: SIGNATURE_HASH_ALGORITHMS, REDIRECT_SUPPORTED,
   * CHILDLESS_IKEV2_SUPPORTED, MULTIPLE_AUTH_SUPPORTED, EAP_ONLY_AUTHENTICATION, IKEV2_MESSAGE_ID_SYNC_SUPPORTED.
   */
  readonly charonAnnouncements: boolean;
  /** SET_WINDOW_SIZE announced in IKE_AUTH (RFC 7296 2.3); undefined: not sent (a window of 1 all the same). */
  readonly windowSize?: number;
  /** Status notifies added wherever we propose or accept a CHILD_SA (IKE_AUTH, CREATE_CHILD_SA). */
  readonly childNotifies: readonly number[];
  /** IDr in an IKE_AUTH request when the remote identity is configured (charon does, IOS does not). */
  readonly idrInRequest: boolean;
  /** Whose payload order IKE_SA_INIT and IKE_AUTH go out in (src/ike/payload-order.ts). */
  readonly payloadOrder: 'charon' | 'ios';
}

const CHARON: WireHabits = {
  initVendorIds: [],
  authVendorIds: [],
  charonAnnouncements: true,
  childNotifies: [],
  idrInRequest: true,
  payloadOrder: 'charon',
};

const IOS_XE: WireHabits = {
  initVendorIds: [CISCO_DELETE_REASON, CISCO_COPYRIGHT, CISCO_FLEXVPN_SUPPORTED],
  authVendorIds: [CISCO_GRANITE],
  charonAnnouncements: false,
  // IOS announces its `crypto ikev2 window` (default 5); we keep one cached response and take requests in order
  // (response-cache.ts), so the notify is IOS's habit but the window is the one we can honour
  windowSize: 1,
  childNotifies: [Notify.ESP_TFC_PADDING_NOT_SUPPORTED, Notify.NON_FIRST_FRAGMENTS_ALSO],
  idrInRequest: false,
  payloadOrder: 'ios',
};

// vEdge runs charon: its habits are charon's (vendor IDs off, as charon's send_vendor_id default)
const HABITS: Record<PeerProfile, WireHabits> = { strongswan: CHARON, vedge: CHARON, 'ios-xe': IOS_XE };

/** The habits of a connection's profile; no profile: charon's, which is what ikelab always did. */
export function habitsFor(profile: PeerProfile | undefined): WireHabits {
  return profile ? HABITS[profile] : CHARON;
}
