// daemon.save_keys: every IKE_SA's and CHILD_SA's keys written to Wireshark's decryption tables, in the spirit of
// strongSwan's save-keys plugin, so a capture of ikelab's traffic (daemon.pcap, or tcpdump) can be decrypted:
//   <dir>/ikev2_decryption_table  one line per IKE_SA (the isakmp dissector's "IKEv2 Decryption Table" UAT)
//   <dir>/esp_sa                  one line per CHILD_SA direction (the esp dissector's "ESP SAs" UAT)
// Keys on disk decrypt everything they were used for: the daemon warns at start-up, the files are 0600, and the
// IKE code hands keys over only through the IkeServices.keysDerived hook (never in log events).
// Algorithm names are the strings the installed Wireshark's UAT value lists accept (checked against tshark 4.0);
// an algorithm Wireshark cannot decrypt gets no line and one log line saying so.
import { appendFileSync, chmodSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { Encr, Integ } from '../wire/constants.js';

/** Keys of one IKE_SA, as derived (SK_e* include the AEAD salt, as RFC 5282 derives them). */
export interface IkeKeyExport {
  kind: 'ike';
  spiI: Buffer;
  spiR: Buffer;
  encr: number;
  encrKeyBits?: number;
  /** Undefined or 0 with an AEAD cipher. */
  integ?: number;
  skEi: Buffer;
  skEr: Buffer;
  skAi: Buffer;
  skAr: Buffer;
}

/** Keys of one CHILD_SA, both directions, from our side: "in" is what the peer sends to us on spiIn. */
export interface ChildKeyExport {
  kind: 'child';
  /** The outer (UDP-encapsulating) IP addresses as a capture sees them. */
  local: string;
  remote: string;
  spiIn: Buffer;
  spiOut: Buffer;
  encr: number;
  encrKeyBits?: number;
  integ?: number;
  encrIn: Buffer;
  integIn: Buffer;
  encrOut: Buffer;
  integOut: Buffer;
}

export type KeyExport = IkeKeyExport | ChildKeyExport;

export const IKEV2_TABLE = 'ikev2_decryption_table';
export const ESP_TABLE = 'esp_sa';

/** The warning `ikelab start` prints when daemon.save_keys is set. */
export const saveKeysWarning = (dir: string): string =>
  `WARNING: daemon.save_keys is on: IKE and ESP keys are written to ${dir}; with them anyone holding a capture decrypts all traffic of these SAs`;

const hex = (b: Buffer): string => b.toString('hex');

// packet-isakmp.c's IKEv2 UAT: encryption names carry the key size (the UAT has no key length column)
function ikeEncrName(encr: number, bits?: number): string | undefined {
  if (encr === Encr['3DES']) return '3DES [RFC2451]';
  if (encr === Encr.NULL) return 'NULL [RFC2410]';
  if (bits !== 128 && bits !== 192 && bits !== 256) return undefined;
  if (encr === Encr.AES_CBC) return `AES-CBC-${bits} [RFC3602]`;
  if (encr === Encr.AES_CTR) return `AES-CTR-${bits} [RFC5930]`;
  const icv = { [Encr.AES_GCM_8]: 8, [Encr.AES_GCM_12]: 12, [Encr.AES_GCM_16]: 16 }[encr];
  if (icv) return `AES-GCM-${bits} with ${icv} octet ICV [RFC5282]`;
  const ccm = { [Encr.AES_CCM_8]: 8, [Encr.AES_CCM_12]: 12, [Encr.AES_CCM_16]: 16 }[encr];
  if (ccm) return `AES-CCM-${bits} with ${ccm} octet ICV [RFC5282]`;
  return undefined; // ChaCha20-Poly1305: not in Wireshark's IKEv2 table
}

function ikeIntegName(integ?: number): string | undefined {
  switch (integ ?? 0) {
    case Integ.NONE:
      return 'NONE [RFC4306]';
    case Integ.HMAC_MD5_96:
      return 'HMAC_MD5_96 [RFC2403]';
    case Integ.HMAC_SHA1_96:
      return 'HMAC_SHA1_96 [RFC2404]';
    case Integ.HMAC_SHA2_256_128:
      return 'HMAC_SHA2_256_128 [RFC4868]';
    case Integ.HMAC_SHA2_384_192:
      return 'HMAC_SHA2_384_192 [RFC4868]';
    case Integ.HMAC_SHA2_512_256:
      return 'HMAC_SHA2_512_256 [RFC4868]';
    case Integ.AES_XCBC_96:
      // Wireshark cannot check AES-XCBC, but it still decrypts when told how long the ICV is
      return 'ANY 96-bits of Authentication [No Checking]';
    default:
      return undefined;
  }
}

// packet-esp.c's UAT: the key length follows from the key itself; GCM names carry the ICV length (Wireshark >= 3.6;
// the older "AES-GCM [RFC4106]" left the ICV length to the authentication column)
function espEncrName(encr: number): string | undefined {
  switch (encr) {
    case Encr.NULL:
      return 'NULL';
    case Encr['3DES']:
      return 'TripleDES-CBC [RFC2451]';
    case Encr.AES_CBC:
      return 'AES-CBC [RFC3602]';
    case Encr.AES_CTR:
      return 'AES-CTR [RFC3686]';
    case Encr.DES:
      return 'DES-CBC [RFC2405]';
    case Encr.AES_GCM_8:
      return 'AES-GCM with 8 octet ICV [RFC4106]';
    case Encr.AES_GCM_12:
      return 'AES-GCM with 12 octet ICV [RFC4106]';
    case Encr.AES_GCM_16:
      return 'AES-GCM with 16 octet ICV [RFC4106]';
    default:
      return undefined; // ChaCha20-Poly1305, CCM: Wireshark's ESP decryption has none of them
  }
}

function espIntegName(integ?: number): string | undefined {
  switch (integ ?? 0) {
    case Integ.NONE:
      // AEAD: the GCM name above already says how long the ICV is
      return 'NULL';
    case Integ.HMAC_MD5_96:
      return 'HMAC-MD5-96 [RFC2403]';
    case Integ.HMAC_SHA1_96:
      return 'HMAC-SHA-1-96 [RFC2404]';
    case Integ.HMAC_SHA2_256_128:
      return 'HMAC-SHA-256-128 [RFC4868]';
    case Integ.HMAC_SHA2_384_192:
      return 'HMAC-SHA-384-192 [RFC4868]';
    case Integ.HMAC_SHA2_512_256:
      return 'HMAC-SHA-512-256 [RFC4868]';
    case Integ.AES_XCBC_96:
      return 'ANY 96 bit authentication [no checking]';
    default:
      return undefined;
  }
}

/**
 * The ikev2_decryption_table line of an IKE_SA (no newline), or a reason why Wireshark could not use one.
 * Columns: SPIi, SPIr, SK_ei, SK_er, encryption, SK_ai, SK_ar, integrity; SPIs and keys as bare hex, names quoted.
 */
export function ikev2TableLine(k: IkeKeyExport): { line: string } | { skip: string } {
  const encr = ikeEncrName(k.encr, k.encrKeyBits);
  const integ = ikeIntegName(k.integ);
  if (!encr) return { skip: `encryption algorithm ${k.encr}${k.encrKeyBits ? `/${k.encrKeyBits}` : ''} has no Wireshark IKEv2 name` };
  if (!integ) return { skip: `integrity algorithm ${k.integ} has no Wireshark IKEv2 name` };
  const cols = [hex(k.spiI), hex(k.spiR), hex(k.skEi), hex(k.skEr), `"${encr}"`, hex(k.skAi), hex(k.skAr), `"${integ}"`];
  return { line: cols.join(',') };
}

/**
 * The two esp_sa lines of a CHILD_SA (outbound first, no trailing newline), or why there are none.
 * Columns: protocol, source, destination, SPI, encryption, key, authentication, key; all quoted, SPI and keys 0x-hex.
 */
export function espSaLines(k: ChildKeyExport): { lines: [string, string] } | { skip: string } {
  const encr = espEncrName(k.encr);
  const integ = espIntegName(k.integ);
  if (!encr) return { skip: `encryption algorithm ${k.encr} has no Wireshark ESP name` };
  if (!integ) return { skip: `integrity algorithm ${k.integ} has no Wireshark ESP name` };
  const proto = isIPv6(k.local) ? 'IPv6' : 'IPv4';
  const key = (b: Buffer) => (b.length ? `0x${hex(b)}` : '');
  const line = (src: string, dst: string, spi: Buffer, ek: Buffer, ik: Buffer) =>
    [proto, src, dst, `0x${hex(spi)}`, encr, key(ek), integ, key(ik)].map((c) => `"${c}"`).join(',');
  return {
    lines: [line(k.local, k.remote, k.spiOut, k.encrOut, k.integOut), line(k.remote, k.local, k.spiIn, k.encrIn, k.integIn)],
  };
}

/**
 * Appends to the two tables as SAs come up (rekeys included). Written synchronously: the keys are on disk before
 * the first protected datagram of the SA leaves, so a live Wireshark reading the tables never misses one.
 */
export class KeyFileWriter {
  private readonly secured = new Set<string>();
  private readonly skipped = new Set<string>();

  constructor(
    readonly dir: string,
    /** Where a failure or an algorithm Wireshark cannot use is reported (each reason once). */
    private readonly report: (msg: string) => void,
  ) {}

  write(k: KeyExport): void {
    if (k.kind === 'ike') {
      const r = ikev2TableLine(k);
      if ('skip' in r) this.skip(`IKE_SA keys not saved: ${r.skip}`);
      else this.append(IKEV2_TABLE, `${r.line}\n`);
      return;
    }
    const r = espSaLines(k);
    if ('skip' in r) this.skip(`CHILD_SA keys not saved: ${r.skip}`);
    else this.append(ESP_TABLE, `${r.lines.join('\n')}\n`);
  }

  private append(name: string, text: string): void {
    const path = join(this.dir, name);
    try {
      appendFileSync(path, text, { mode: 0o600 });
      // the mode above applies only to a file we create; a table left by someone else is narrowed once
      if (!this.secured.has(path)) {
        chmodSync(path, 0o600);
        this.secured.add(path);
      }
    } catch (e) {
      this.skip(`writing ${path} failed: ${(e as Error).message}`);
    }
  }

  private skip(msg: string): void {
    if (this.skipped.has(msg)) return;
    this.skipped.add(msg);
    this.report(`save_keys: ${msg}`);
  }
}
