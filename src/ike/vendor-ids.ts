// Vendor ID payloads (RFC 7296 3.12): the ones a peer profile sends, and the names charon gives the ones it
// recognises in an IKE_SA_INIT (strongSwan 5.9 ike_vendor.c lists them with their bytes), so our log reads like
// charon's when a Cisco box talks to us. Anything else is logged as unknown and otherwise ignored, as charon does.

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Cisco's vendor IDs as the ASCII strings they are on the wire. */
export const CISCO_DELETE_REASON = ascii('CISCO-DELETE-REASON');
export const CISCO_COPYRIGHT = ascii('CISCO(COPYRIGHT)&Copyright (c) 2009 Cisco Systems, Inc.');
export const CISCO_FLEXVPN_SUPPORTED = ascii('FLEXVPN-SUPPORTED');
/** Named CISCO-GRANITE in IOS debug output; its bytes are a guess (see docs/PROFILES.md). */
export const CISCO_GRANITE = ascii('CISCO-GRANITE');

interface KnownVendorId {
  name: string;
  data: Buffer;
  /** Only the first data.length bytes identify it (a version follows). */
  prefix?: boolean;
}

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/** charon's names for the vendor IDs it knows (the log line is `received <name> vendor ID`). */
const KNOWN: readonly KnownVendorId[] = [
  { name: 'strongSwan', data: hex('882fe56d6fd20dbc2251613b2ebe5beb') },
  { name: 'Cisco Delete Reason', data: CISCO_DELETE_REASON },
  { name: 'Cisco FlexVPN Supported', data: CISCO_FLEXVPN_SUPPORTED },
  { name: 'Cisco Copyright (c) 2009', data: CISCO_COPYRIGHT },
  { name: 'FRAGMENTATION', data: hex('4048b7d56ebce88525e7de7f00d6c2d3') },
  { name: 'MS NT5 ISAKMPOAKLEY v7', data: hex('1e2b516905991c7d7c96fcbfb587e46100000007') },
  { name: 'MS NT5 ISAKMPOAKLEY v8', data: hex('1e2b516905991c7d7c96fcbfb587e46100000008') },
  { name: 'MS NT5 ISAKMPOAKLEY v9', data: hex('1e2b516905991c7d7c96fcbfb587e46100000009') },
  { name: 'MS-Negotiation Discovery Capable', data: hex('fb1de3cdf341b7ea16b7e5be0855f120') },
  { name: 'Vid-Initial-Contact', data: hex('26244d38eddb61b3172a36e3d0cfb819') },
  { name: 'Cisco VPN Concentrator', data: hex('1f07f70eaa6514d3b0fa96542a50'), prefix: true },
  { name: 'Cisco VPN 3000 client', data: hex('f6f7efc7f5aeb8cb158cb9d094ba69e7') },
  { name: 'Fortigate', data: hex('1d6e178f6c2c0be284985465450fe9d4') },
  { name: 'Juniper SRX', data: hex('fd808804df73b15150709d878044cde0ac1efcde') },
];

/** charon's name for a received vendor ID, or undefined when it is not one it knows. */
export function vendorIdName(data: Buffer): string | undefined {
  for (const k of KNOWN) {
    const got = k.prefix ? data.subarray(0, k.data.length) : data;
    if (got.equals(k.data)) return k.name;
  }
  return undefined;
}

/** charon's %#B: the bytes as colon-separated hex pairs. */
export function colonHex(data: Buffer): string {
  return [...data].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
