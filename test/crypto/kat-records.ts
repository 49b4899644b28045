// Test helper: groups consecutive charon dumps of one thread into the records the crypto tests
// compare against (one SK payload protection, one PSK AUTH computation, CHILD_SA keys).
import type { Dump } from './kat-parse.js';

/** Collect the labels of `wanted` that follow each `start` dump in the same thread. */
function records(dumps: Dump[], start: string, wanted: string[]): Map<string, Buffer>[] {
  const out: Map<string, Buffer>[] = [];
  const open = new Map<string, Map<string, Buffer>>();
  for (const d of dumps) {
    if (d.label === start) {
      const rec = new Map([[start, d.data]]);
      out.push(rec);
      open.set(d.thread, rec);
      continue;
    }
    const rec = open.get(d.thread);
    if (!rec || !wanted.includes(d.label) || rec.has(d.label)) continue;
    rec.set(d.label, d.data);
    // remember whether `plain` came before `encrypted`: that is an encryption, else a decryption
    if (d.label === 'plain' && !rec.has('encrypted')) rec.set('#encrypting', Buffer.from([1]));
    if (wanted.every((w) => rec.has(w))) open.delete(d.thread);
  }
  return out.filter((r) => wanted.every((w) => r.has(w)));
}

export interface SkRecord {
  encrypting: boolean;
  iv: Buffer;
  plain: Buffer;
  /** Padding as logged: the padding bytes followed by the pad-length byte. */
  padding: Buffer;
  assoc: Buffer;
  /** Encryption: ciphertext only. Decryption: ciphertext followed by the ICV (as charon logs it). */
  encrypted: Buffer;
  icv: Buffer;
}

/** ENC group: `IV, plain, padding, assoc, encrypted, ICV` (seal) or `IV, encrypted, ICV, assoc, plain, padding` (open). */
export function skRecords(dumps: Dump[]): SkRecord[] {
  const enc = dumps.filter((d) => d.group === 'ENC');
  return records(enc, 'IV', ['plain', 'padding', 'assoc', 'encrypted', 'ICV']).map((r) => ({
    encrypting: r.has('#encrypting'),
    iv: r.get('IV')!,
    plain: r.get('plain')!,
    padding: r.get('padding')!,
    assoc: r.get('assoc')!,
    encrypted: r.get('encrypted')!,
    icv: r.get('ICV')!,
  }));
}

export interface AuthRecord {
  idBody: Buffer;
  skP: Buffer;
  octets: Buffer;
  secret: Buffer;
  keyPadPrf: Buffer;
  auth: Buffer;
}

const OCTETS = "octets = message + nonce + prf(Sk_px, IDx')";
const KEYPAD = 'prf(secret, keypad)';
const AUTH = 'AUTH = prf(prf(secret, keypad), octets)';

/** IKE group, RFC 7296 2.15 PSK computation: IDx', SK_p, octets, secret, prf(secret, keypad), AUTH. */
export function authRecords(dumps: Dump[]): AuthRecord[] {
  const ike = dumps.filter((d) => d.group === 'IKE');
  return records(ike, "IDx'", ['SK_p', OCTETS, 'secret', KEYPAD, AUTH]).map((r) => ({
    idBody: r.get("IDx'")!,
    skP: r.get('SK_p')!,
    octets: r.get(OCTETS)!,
    secret: r.get('secret')!,
    keyPadPrf: r.get(KEYPAD)!,
    auth: r.get(AUTH)!,
  }));
}

export interface ChildKeyRecord {
  dhSecret?: Buffer;
  seed: Buffer;
  encrI: Buffer;
  encrR: Buffer;
  integI?: Buffer;
  integR?: Buffer;
}

/** CHD group: optional `DH secret`, `seed`, then the four (two for AEAD) key dumps. */
export function childKeyRecords(dumps: Dump[]): ChildKeyRecord[] {
  const chd = dumps.filter((d) => d.group === 'CHD');
  const out: ChildKeyRecord[] = [];
  let pendingDh: Buffer | undefined;
  let cur: ChildKeyRecord | undefined;
  for (const d of chd) {
    if (d.label === 'DH secret') pendingDh = d.data;
    else if (d.label === 'seed') {
      cur = { dhSecret: pendingDh, seed: d.data, encrI: Buffer.alloc(0), encrR: Buffer.alloc(0) };
      pendingDh = undefined;
      out.push(cur);
    } else if (cur && d.label === 'encryption initiator key') cur.encrI = d.data;
    else if (cur && d.label === 'encryption responder key') cur.encrR = d.data;
    else if (cur && d.label === 'integrity initiator key') cur.integI = d.data;
    else if (cur && d.label === 'integrity responder key') cur.integR = d.data;
  }
  return out;
}
