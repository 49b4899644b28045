// Test helper: the real ESP-in-UDP packets of the strongSwan reference runs (test/fixtures/kat) with
// the CHILD_SA keys and SPIs charon logged for them, so the ESP engine is checked against another
// implementation. test/wire/pcap.ts only yields IKE, so the (tiny) pcapng walk for ESP is here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byLabel, parseLogFile } from '../crypto/kat-parse.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import { KAT_DIR } from '../helpers/fixtures.js';

export { KAT_DIR };

export interface KatSuite {
  dir: string;
  encr: number;
  encrKeyBits?: number;
  integ?: number;
}

/** The reference runs and their ESP transforms (README.md table of the kat folder). */
export const KAT_SUITES: KatSuite[] = [
  { dir: 'aes256-sha256-modp2048', encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_256_128 },
  { dir: 'aes128gcm16-prfsha256-ecp256', encr: Encr.AES_GCM_16, encrKeyBits: 128 },
  { dir: 'chacha20poly1305-prfsha256-curve25519', encr: Encr.CHACHA20_POLY1305 },
  { dir: '3des-sha1-modp1024', encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96 },
  { dir: 'aes256-sha384-ecp384', encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_384_192 },
  { dir: 'aes256gcm16-prfsha512-ecp521', encr: Encr.AES_GCM_16, encrKeyBits: 256 },
  { dir: 'aes128-sha512-curve448', encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA2_512_256 },
];

export interface CapturedEsp {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** UDP payload: the ESP packet (no non-ESP marker on ESP-in-UDP, RFC 3948 2.1). */
  esp: Buffer;
}

/** ESP-in-UDP datagrams of a pcapng capture (Ethernet, IPv4), in capture order. */
export function readEspPackets(path: string): CapturedEsp[] {
  const file = readFileSync(path);
  if (file.readUInt32LE(0) !== 0x0a0d0d0a) throw new Error(`${path}: not pcapng`);
  const out: CapturedEsp[] = [];
  for (let off = 0; off + 12 <= file.length; ) {
    const type = file.readUInt32LE(off);
    const len = file.readUInt32LE(off + 4);
    if (type === 6) {
      const body = file.subarray(off + 8, off + len - 4);
      const frame = body.subarray(20, 20 + body.readUInt32LE(12));
      const ip = frame.subarray(14);
      if (frame.readUInt16BE(12) === 0x0800 && ip[9] === 17) {
        const udp = ip.subarray((ip[0]! & 0x0f) * 4);
        const data = udp.subarray(8, udp.readUInt16BE(4));
        const srcPort = udp.readUInt16BE(0);
        const dstPort = udp.readUInt16BE(2);
        if (dstPort === 4500 && data.length > 8 && data.readUInt32BE(0) !== 0) {
          out.push({ src: ip.subarray(12, 16).join('.'), dst: ip.subarray(16, 20).join('.'), srcPort, dstPort, esp: Buffer.from(data) });
        }
      }
    }
    off += len;
  }
  return out;
}

export interface KatChildSa {
  /** SPI in the ESP header of packets protected with these keys. */
  spi: Buffer;
  /** Sender of those packets. */
  src: string;
  encKey: Buffer;
  integKey: Buffer;
}

/**
 * Every ESP SA of the initiator's log, both CHILD_SAs (initial and rekeyed), both directions: the inbound SA
 * (peer 10.95.0.1 sends, responder keys) and the outbound SA (initiator 10.95.0.2 sends, initiator keys).
 */
export function katChildSas(dir: string): KatChildSa[] {
  const path = join(KAT_DIR, dir, 'initiator.log');
  const dumps = parseLogFile(path);
  const keys = (label: string) => byLabel(dumps, label).map((d) => d.data);
  const [encI, encR, intI, intR] = [
    'encryption initiator key',
    'encryption responder key',
    'integrity initiator key',
    'integrity responder key',
  ].map(keys);
  const lines = readFileSync(path, 'utf8').split('\n');
  const spis: { dir: 'inbound' | 'outbound'; spi: Buffer }[] = [];
  lines.forEach((line, i) => {
    const m = /^(\d+)\[CHD\] adding (inbound|outbound) ESP SA$/.exec(line);
    if (!m) return;
    const next = lines.slice(i + 1).find((l) => l.startsWith(`${m[1]}[CHD]   SPI 0x`))!;
    spis.push({ dir: m[2] as 'inbound' | 'outbound', spi: Buffer.from(/SPI 0x([0-9a-f]{8})/.exec(next)![1]!, 'hex') });
  });
  const inbound = spis.filter((s) => s.dir === 'inbound');
  const outbound = spis.filter((s) => s.dir === 'outbound');
  if (inbound.length !== 2 || outbound.length !== 2 || encI!.length !== 2) throw new Error(`${dir}: expected two CHILD_SAs`);
  const none = Buffer.alloc(0);
  return [0, 1].flatMap((n) => [
    { spi: inbound[n]!.spi, src: '10.95.0.1', encKey: encR![n]!, integKey: intR![n] ?? none },
    { spi: outbound[n]!.spi, src: '10.95.0.2', encKey: encI![n]!, integKey: intI![n] ?? none },
  ]);
}
