// `ip xfrm` command lines (iproute2, ip-xfrm(8)) installing a CHILD_SA in the Linux kernel: two ESP states
// (SAD) and the out/in/fwd policies (SPD) in tunnel mode, as charon's kernel-netlink plugin would. Pure
// functions returning argv arrays: xfrm-backend.ts runs them, tests compare them.
import { formatIp } from '../config/ip.js';
import { encrInfo, encrSupported, isAead } from '../crypto/encr.js';
import { integIcvLength } from '../crypto/integ.js';
import type { TrafficSelector } from '../wire/types.js';
import { Encr, Esn, Integ, TransformType } from '../wire/constants.js';

export interface XfrmSuite {
  encr: number;
  encrKeyBits?: number;
  integ?: number;
  esn: boolean;
}

/** One ESP SA (one direction). */
export interface XfrmState extends XfrmSuite {
  /** Outer addresses: the sender and the receiver of packets on this SA. */
  src: string;
  dst: string;
  spi: Buffer;
  reqid: number;
  encKey: Buffer;
  integKey: Buffer;
  replayWindow: number;
  /** UDP encapsulation (RFC 3948, NAT-T): source and destination port of this SA's packets. */
  encap?: { sport: number; dport: number };
}

/** A whole CHILD_SA from our point of view. */
export interface XfrmChild extends XfrmSuite {
  local: string;
  remote: string;
  /** Our and the peer's UDP port when encapsulating (both 4500 normally). */
  encap?: { localPort: number; remotePort: number };
  spiIn: Buffer;
  spiOut: Buffer;
  reqid: number;
  keys: { encrIn: Buffer; integIn: Buffer; encrOut: Buffer; integOut: Buffer };
  replayWindow: number;
  localTs: readonly TrafficSelector[];
  remoteTs: readonly TrafficSelector[];
}

const hex = (b: Buffer): string => `0x${b.toString('hex')}`;

/** Kernel crypto API names (charon's kernel_netlink_ipsec.c tables). */
const INTEG_NAMES: Record<number, string> = {
  [Integ.HMAC_MD5_96]: 'hmac(md5)',
  [Integ.HMAC_SHA1_96]: 'hmac(sha1)',
  [Integ.AES_XCBC_96]: 'xcbc(aes)',
  [Integ.HMAC_SHA2_256_128]: 'hmac(sha256)',
  [Integ.HMAC_SHA2_384_192]: 'hmac(sha384)',
  [Integ.HMAC_SHA2_512_256]: 'hmac(sha512)',
};

/** Kernel names of the ciphers: `enc` (CBC, with an auth-trunc integrity) and `aead` (key | salt, ICV bits). */
const ENC_NAMES: Record<number, string> = {
  [Encr.AES_CBC]: 'cbc(aes)',
  [Encr['3DES']]: 'cbc(des3_ede)',
};
const AEAD_NAMES: Record<number, string> = {
  [Encr.AES_GCM_8]: 'rfc4106(gcm(aes))',
  [Encr.AES_GCM_12]: 'rfc4106(gcm(aes))',
  [Encr.AES_GCM_16]: 'rfc4106(gcm(aes))',
  [Encr.CHACHA20_POLY1305]: 'rfc7539esp(chacha20,poly1305)',
};

/**
 * What the xfrm backend can install: a cipher xfrmAlgoArgs names for the kernel whose KEYMAT size ikelab knows
 * (encrInfo), and an integrity algorithm of INTEG_NAMES (with AES-XCBC-MAC-96, which the userspace engine lacks).
 * The kernel itself would do more (ctr(aes), rfc4309(ccm(aes)), ...), but ikelab could neither key nor install them.
 */
export function xfrmSupportsEncr(encrId: number, keyBits?: number): boolean {
  return (ENC_NAMES[encrId] !== undefined || AEAD_NAMES[encrId] !== undefined) && encrSupported(encrId, keyBits);
}

export function xfrmSupportsInteg(integId: number): boolean {
  return INTEG_NAMES[integId] !== undefined;
}

/** One ENCR, INTEG or ESN transform of an ESP proposal (`flag esn` covers ESN). */
export function xfrmTransformSupported(t: { type: number; id: number; keyLength?: number }): boolean {
  if (t.type === TransformType.ENCR) return xfrmSupportsEncr(t.id, t.keyLength);
  if (t.type === TransformType.INTEG) return xfrmSupportsInteg(t.id);
  if (t.type === TransformType.ESN) return t.id === Esn.NO_EXT_SEQ || t.id === Esn.EXT_SEQ;
  return false;
}

/** The algorithm arguments: `aead NAME KEY ICV-BITS`, or `enc NAME KEY auth-trunc NAME KEY TRUNC-BITS`. */
export function xfrmAlgoArgs(s: XfrmSuite & { encKey: Buffer; integKey: Buffer }): string[] {
  const aeadName = AEAD_NAMES[s.encr];
  if (isAead(s.encr) && aeadName) {
    const info = encrInfo(s.encr, s.encr === Encr.CHACHA20_POLY1305 ? undefined : s.encrKeyBits || (s.encKey.length - 4) * 8);
    // The kernel takes key and 4-byte salt as one key (RFC 4106 8.1, RFC 7634 4), ICV length in bits.
    return ['aead', aeadName, hex(s.encKey), String(info.tagBytes * 8)];
  }
  const enc = ENC_NAMES[s.encr];
  const auth = INTEG_NAMES[s.integ ?? 0];
  if (!enc) throw new Error(`xfrm: unsupported encryption algorithm ${s.encr}`);
  if (!auth) throw new Error(`xfrm: unsupported integrity algorithm ${s.integ ?? 0}`);
  return ['enc', enc, hex(s.encKey), 'auth-trunc', auth, hex(s.integKey), String(integIcvLength(s.integ!) * 8)];
}

const stateId = (s: Pick<XfrmState, 'src' | 'dst' | 'spi'>): string[] => ['src', s.src, 'dst', s.dst, 'proto', 'esp', 'spi', hex(s.spi)];

export function xfrmStateCommand(op: 'add' | 'del', s: XfrmState): string[] {
  if (op === 'del') return ['ip', 'xfrm', 'state', 'delete', ...stateId(s)];
  const argv = ['ip', 'xfrm', 'state', 'add', ...stateId(s), 'reqid', String(s.reqid), 'mode', 'tunnel'];
  // ESN needs the replay state of XFRMA_REPLAY_ESN_VAL, which iproute2 sends for `flag esn` (RFC 4303 A).
  argv.push('replay-window', String(s.replayWindow));
  if (s.esn) argv.push('flag', 'esn');
  argv.push(...xfrmAlgoArgs(s));
  // The original-address field is unused for tunnel mode ESP (no transport checksum fixup): 0.0.0.0.
  if (s.encap) argv.push('encap', 'espinudp', String(s.encap.sport), String(s.encap.dport), s.src.includes(':') ? '::' : '0.0.0.0');
  return argv;
}

/** Prefixes exactly covering [start, end] (a selector range need not be one subnet). */
export function rangeToCidrs(start: Buffer, end: Buffer): string[] {
  const bits = start.length * 8;
  const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex')}`);
  const toBuf = (n: bigint) => Buffer.from(n.toString(16).padStart(start.length * 2, '0'), 'hex');
  let lo = toBig(start);
  const hi = toBig(end);
  const out: string[] = [];
  while (lo <= hi) {
    let size = 0; // largest aligned block starting at lo that stays within hi
    while (size < bits && (lo & ((1n << BigInt(size + 1)) - 1n)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi) size++;
    out.push(`${formatIp(toBuf(lo))}/${bits - size}`);
    lo += 1n << BigInt(size);
  }
  return out;
}

/** Selector arguments for one direction: addresses, and protocol/ports when the selectors narrow them. */
function selectors(srcTs: TrafficSelector, dstTs: TrafficSelector): string[][] {
  if (srcTs.raw || dstTs.raw) throw new Error('xfrm: selector type without addresses');
  const proto = srcTs.ipProtocol || dstTs.ipProtocol;
  const port = (ts: TrafficSelector, kw: 'sport' | 'dport'): string[] => {
    if (ts.startPort === 0 && ts.endPort === 0xffff) return [];
    // ip xfrm takes one port (mask all ones); a wider policy than negotiated would be a security hole.
    if (ts.startPort !== ts.endPort) throw new Error(`xfrm: port range ${ts.startPort}-${ts.endPort} cannot be expressed`);
    return [kw, String(ts.startPort)];
  };
  const extra = proto ? ['proto', String(proto), ...port(srcTs, 'sport'), ...port(dstTs, 'dport')] : [];
  const out: string[][] = [];
  for (const s of rangeToCidrs(srcTs.startAddr, srcTs.endAddr))
    for (const d of rangeToCidrs(dstTs.startAddr, dstTs.endAddr)) out.push(['src', s, 'dst', d, ...extra]);
  return out;
}

/** out (local -> remote), in and fwd (remote -> local) policies for every selector pair (RFC 4301 4.4.1). */
export function xfrmPolicyCommands(
  op: 'add' | 'del',
  c: Pick<XfrmChild, 'local' | 'remote' | 'reqid' | 'localTs' | 'remoteTs'>,
): string[][] {
  const cmds: string[][] = [];
  const tmpl = (src: string, dst: string) => ['tmpl', 'src', src, 'dst', dst, 'proto', 'esp', 'reqid', String(c.reqid), 'mode', 'tunnel'];
  for (const l of c.localTs) {
    for (const r of c.remoteTs) {
      for (const sel of selectors(l, r)) {
        cmds.push(
          op === 'add'
            ? ['ip', 'xfrm', 'policy', 'add', ...sel, 'dir', 'out', ...tmpl(c.local, c.remote)]
            : ['ip', 'xfrm', 'policy', 'delete', ...sel, 'dir', 'out'],
        );
      }
      for (const sel of selectors(r, l)) {
        for (const dir of ['in', 'fwd']) {
          cmds.push(
            op === 'add'
              ? ['ip', 'xfrm', 'policy', 'add', ...sel, 'dir', dir, ...tmpl(c.remote, c.local)]
              : ['ip', 'xfrm', 'policy', 'delete', ...sel, 'dir', dir],
          );
        }
      }
    }
  }
  return cmds;
}

/** Inbound and outbound state of a CHILD_SA. */
export function xfrmStates(c: XfrmChild): { inbound: XfrmState; outbound: XfrmState } {
  const common = { encr: c.encr, encrKeyBits: c.encrKeyBits, integ: c.integ, esn: c.esn, reqid: c.reqid, replayWindow: c.replayWindow };
  return {
    inbound: {
      ...common,
      src: c.remote,
      dst: c.local,
      spi: c.spiIn,
      encKey: c.keys.encrIn,
      integKey: c.keys.integIn,
      encap: c.encap && { sport: c.encap.remotePort, dport: c.encap.localPort },
    },
    outbound: {
      ...common,
      src: c.local,
      dst: c.remote,
      spi: c.spiOut,
      encKey: c.keys.encrOut,
      integKey: c.keys.integOut,
      encap: c.encap && { sport: c.encap.localPort, dport: c.encap.remotePort },
    },
  };
}

/**
 * All commands for a CHILD_SA. add: states first, then policies (a policy must not match before its SA
 * exists, or the kernel acquires a new one); del: policies first, then states.
 */
export function xfrmCommands(op: 'add' | 'del', c: XfrmChild): string[][] {
  const { inbound, outbound } = xfrmStates(c);
  const states = [xfrmStateCommand(op, inbound), xfrmStateCommand(op, outbound)];
  const policies = xfrmPolicyCommands(op, c);
  return op === 'add' ? [...states, ...policies] : [...policies, ...states];
}
