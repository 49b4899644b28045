// Charon's short names for message summaries, e.g. what follows "generating IKE_SA_INIT request 0": the
// bracketed payload list (charon message.c get_string, 5.9.8). Logs are compared line by line with charon's, so
// every spelling here matches charon's tables; values they lack print as charon's "(%d)".

import { CfgType, PayloadType } from './constants.js';
import { isUnknown } from './message.js';
import { notifyName, unnamed } from './notify-names.js';
import type { Payload } from './types.js';

export { notifyLongName, notifyName } from './notify-names.js';
export { proposalsToString, proposalToString, transformName } from './algnames.js';

type Run = [number, ...string[]];

function table(runs: Run[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const [first, ...names] of runs) names.forEach((n, i) => m.set(first + i, n));
  return m;
}

/** IKEv2 payload short names (charon payload_type_short_names); UNKN is charon's name for unparsed types. */
const payloadShort = table([
  [0, '--'],
  [
    33,
    'SA',
    'KE',
    'IDi',
    'IDr',
    'CERT',
    'CERTREQ',
    'AUTH',
    'No',
    'N',
    'D',
    'V',
    'TSi',
    'TSr',
    'E',
    'CP',
    'EAP',
    'GSPM',
    'IDg',
    'GSA',
    'KD',
    'EF',
  ],
]);

export const payloadName = (type: number): string => payloadShort.get(type) ?? unnamed(type);

/** Configuration attribute short names (charon configuration_attribute_type_short_names). */
const cfgAttrShort = table([
  [
    1,
    'ADDR',
    'MASK',
    'DNS',
    'NBNS',
    'EXP',
    'DHCP',
    'VER',
    'ADDR6',
    'MASK6',
    'DNS6',
    'NBNS6',
    'DHCP6',
    'SUBNET',
    'SUP',
    'SUBNET6',
    'MIP6HPFX',
    'LINK6',
    'PFX6',
    'HOA',
    'PCSCF4',
    'PCSCF6',
    'FTTKAT',
    'EXTSRC4',
    'DPD',
    'DOMAIN',
    'TA',
  ],
  [16520, 'X_TYPE', 'X_USER', 'X_PWD', 'X_CODE', 'X_MSG', 'X_CHALL', 'X_DOMAIN', 'X_STATUS', 'X_PIN', 'X_ANSWER'],
  [23456, 'SRV', 'SRV6'],
  [
    28672,
    'U_BANNER',
    'U_SAVEPWD',
    'U_DEFDOM',
    'U_SPLITDNS',
    'U_SPLITINC',
    'U_NATTPORT',
    'U_LOCALLAN',
    'U_PFS',
    'U_FWTYPE',
    'U_BKPSRV',
    'U_DDNSHOST',
  ],
]);

const cfgPrefix: Record<number, string> = {
  [CfgType.CFG_REQUEST]: 'RQ(',
  [CfgType.CFG_REPLY]: 'RP(',
  [CfgType.CFG_SET]: 'S(',
  [CfgType.CFG_ACK]: 'A(',
};

/** EAP code and method short names (charon eap_code_short_names, eap_type_short_names, pen_short_names). */
const eapCode = table([[1, 'REQ', 'RES', 'SUCC', 'FAIL']]);
const eapType = table([
  [1, 'ID', 'NTF', 'NAK', 'MD5', 'OTP', 'GTC'],
  [13, 'TLS'],
  [18, 'SIM'],
  [21, 'TTLS'],
  [23, 'AKA'],
  [25, 'PEAP', 'MSCHAPV2'],
  [33, 'MSTLV'],
  [38, 'TNC'],
  [54, 'PT'],
  [254, 'EXP', 'XP', 'RAD', 'DYN'],
]);
const pen = new Map<number, string>([
  [0, 'IETF'],
  [2, 'IBM'],
  [311, 'MS'],
  [2312, 'RH'],
  [2699, 'PWG'],
  [3076, 'ALT'],
  [9048, 'OSC'],
  [9586, 'DEB'],
  [11129, 'GOO'],
  [21911, 'TCG'],
  [28978, 'CAN'],
  [30401, 'FED'],
  [32939, 'FHH'],
  [36906, 'ITA'],
  [38158, 'PTS'],
  [0xfffffe, 'UNAS'],
  [0xffffff, 'RES'],
]);

/** "/REQ/ID", "/SUCC", "/RES/65001-(12345)": code, then the method (RFC 3748 5.7 expanded types as vendor-type). */
function eapSuffix(data: Buffer): string {
  const code = data.length > 0 ? data[0]! : 0;
  let method = '';
  if (data.length > 4) {
    let type = data[4]!;
    let vendor = 0;
    if (type === 254 && data.length >= 12) {
      vendor = data.readUInt32BE(4) & 0xffffff;
      type = data.readUInt32BE(8);
    }
    if (type && (type !== 254 || data.length >= 12)) {
      method = vendor ? `/${type}-${pen.get(vendor) ?? unnamed(vendor)}` : `/${eapType.get(type) ?? unnamed(type)}`;
    }
  }
  return `/${eapCode.get(code) ?? unnamed(code)}${method}`;
}

const MS_NOTIFY_STATUS = 12345;

/** One payload as charon prints it: "SA", "N(NATD_S_IP)", "CPRQ(ADDR DNS)", "EAP/REQ/ID", "EF(1/2)", "UNKN(99)". */
export function describePayload(p: Payload): string {
  if (isUnknown(p)) return `UNKN(${p.type})`;
  const name = payloadName(p.type);
  switch (p.type) {
    case PayloadType.NOTIFY:
      // charon adds the status code of Microsoft's MS_NOTIFY_STATUS.
      if (p.notifyType === MS_NOTIFY_STATUS && p.data.length === 4) return `${name}(${notifyName(p.notifyType)}(${p.data.readInt32BE(0)}))`;
      return `${name}(${notifyName(p.notifyType)})`;
    case PayloadType.EAP:
      return name + eapSuffix(p.data);
    case PayloadType.CP: {
      if (!p.attributes.length) return name;
      const attrs = p.attributes.map((a) => cfgAttrShort.get(a.type) ?? unnamed(a.type)).join(' ');
      return `${name}${cfgPrefix[p.cfgType] ?? '('}${attrs})`;
    }
    case PayloadType.SKF:
      return `${name}(${p.fragmentNumber}/${p.totalFragments})`;
    default:
      return name;
  }
}

/** The text inside charon's "[ ... ]": payload names in message order, separated by single spaces. */
export const describePayloads = (payloads: Payload[]): string => payloads.map(describePayload).join(' ');

/** Exchange names of charon 5.9.8 (exchange_type_names), including its IKEv1 ones. */
const exchanges = table([
  [2, 'ID_PROT', 'AUTH_ONLY', 'AGGRESSIVE', 'INFORMATIONAL_V1', 'TRANSACTION'],
  [32, 'QUICK_MODE', 'NEW_GROUP_MODE', 'IKE_SA_INIT', 'IKE_AUTH', 'CREATE_CHILD_SA', 'INFORMATIONAL', 'IKE_SESSION_RESUME'],
]);

export const charonExchangeName = (exchange: number): string => exchanges.get(exchange) ?? unnamed(exchange);

/**
 * The whole summary after "generating " / "parsed ": "IKE_AUTH request 1 [ IDi AUTH ]", and "INFORMATIONAL
 * response 2 [ ]" for an empty message (one space, as charon prints it). For a protected message pass the
 * inner payloads: charon logs them, not the SK payload.
 */
export function describeMessage(exchange: number, isResponse: boolean, messageId: number, payloads: Payload[]): string {
  const list = payloads.map((p) => ` ${describePayload(p)}`).join('');
  return `${charonExchangeName(exchange)} ${isResponse ? 'response' : 'request'} ${messageId >>> 0} [${list} ]`;
}
