// IKE bypass policies for the xfrm backend. With kernel ESP, the xfrm policies of a CHILD_SA decide what is
// tunnelled; with 0.0.0.0/0 traffic selectors (the route-based vEdge and IOS XE setups) they also match ikelab's own
// IKE datagrams, which would then be tunnelled inside the SA they negotiate, or dropped before it exists. charon
// avoids this per socket: kernel-netlink's add_socket_bypass (called by socket-default for every socket it opens)
// gives each IKE socket two socket policies, out then in, with action ALLOW and an all-zero selector, which the
// kernel consults before its SPD. ikelab does the same, through the perl child of udp-encap.ts holding the socket as
// fd 3: setsockopt(SOL_IP, IP_XFRM_POLICY) / setsockopt(SOL_IPV6, IPV6_XFRM_POLICY) with a struct
// xfrm_userpolicy_info. It needs CAP_NET_ADMIN, as the xfrm states do.
//
// Linux cannot read a socket policy back (getsockopt of IP_XFRM_POLICY is not implemented), so success means the
// kernel accepted both; its per-namespace count of socket policies (`ip -s xfrm policy count`, "Sock: IN n OUT n")
// is the outside view the tests use.
import type dgram from 'node:dgram';
import { endianness } from 'node:os';
import { type Endpoint, family } from './endpoint.js';
import { perlOnFd, socketFd } from './udp-encap.js';

/** linux/in.h, linux/in6.h, linux/socket.h: the option for a socket of each family, at its level. */
export const SOL_IP = 0;
export const IP_XFRM_POLICY = 17;
export const SOL_IPV6 = 41;
export const IPV6_XFRM_POLICY = 35;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** linux/xfrm.h */
export const XFRM_POLICY_IN = 0;
export const XFRM_POLICY_OUT = 1;
export const XFRM_POLICY_ALLOW = 0;

/**
 * sizeof(struct xfrm_userpolicy_info) where u64 is 8-aligned (x86_64, arm64, armv7 EABI, ...): 164 bytes of fields
 * plus 4 of tail padding. The kernel refuses a shorter value with EINVAL (xfrm_compile_policy: len < sizeof).
 */
export const XFRM_USERPOLICY_INFO_SIZE = 168;

/** struct xfrm_selector; ports in network order as the kernel keeps them, everything else host order. */
export interface XfrmSelector {
  daddr?: Buffer;
  saddr?: Buffer;
  dport?: number;
  dportMask?: number;
  sport?: number;
  sportMask?: number;
  family: number;
  prefixlenD?: number;
  prefixlenS?: number;
  proto?: number;
  ifindex?: number;
  user?: number;
}

export interface XfrmUserpolicyInfo {
  sel: XfrmSelector;
  /** struct xfrm_lifetime_cfg in xfrm.h's order: soft/hard byte limit, soft/hard packet limit, soft/hard add
   * expires, soft/hard use expires (seconds). Absent: all 0, which for a policy means no limit. */
  lft?: readonly bigint[];
  /** struct xfrm_lifetime_cur: bytes, packets, add_time, use_time. */
  curlft?: readonly bigint[];
  priority?: number;
  index?: number;
  dir: number;
  action: number;
  flags?: number;
  share?: number;
}

/** The struct's bytes as the kernel reads them on this machine (host byte order unless `le` says otherwise). */
export function packXfrmUserpolicyInfo(p: XfrmUserpolicyInfo, le = endianness() === 'LE'): Buffer {
  if (process.arch === 'ia32') throw new Error('struct xfrm_userpolicy_info on ia32 (u64 4-aligned, 164 bytes) is not supported');
  const b = Buffer.alloc(XFRM_USERPOLICY_INFO_SIZE);
  const u16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const u64 = (v: bigint, at: number) => (le ? b.writeBigUInt64LE(v, at) : b.writeBigUInt64BE(v, at));
  const s = p.sel;
  for (const [addr, at] of [
    [s.daddr, 0],
    [s.saddr, 16],
  ] as const) {
    if (addr && addr.length > 16) throw new Error(`an xfrm_address_t holds 16 bytes, not ${addr.length}`);
    addr?.copy(b, at);
  }
  b.writeUInt16BE(s.dport ?? 0, 32);
  b.writeUInt16BE(s.dportMask ?? 0, 34);
  b.writeUInt16BE(s.sport ?? 0, 36);
  b.writeUInt16BE(s.sportMask ?? 0, 38);
  u16(s.family, 40);
  b.writeUInt8(s.prefixlenD ?? 0, 42);
  b.writeUInt8(s.prefixlenS ?? 0, 43);
  b.writeUInt8(s.proto ?? 0, 44);
  // 45-47: padding before the int
  u32((s.ifindex ?? 0) >>> 0, 48);
  u32(s.user ?? 0, 52);
  // the selector is 56 bytes, so the u64 lifetimes start aligned
  (p.lft ?? []).forEach((v, i) => u64(v, 56 + 8 * i));
  (p.curlft ?? []).forEach((v, i) => u64(v, 120 + 8 * i));
  u32(p.priority ?? 0, 152);
  u32(p.index ?? 0, 156);
  b.writeUInt8(p.dir, 160);
  b.writeUInt8(p.action, 161);
  b.writeUInt8(p.flags ?? 0, 162);
  b.writeUInt8(p.share ?? 0, 163);
  return b;
}

/** charon's two bypass policies for a socket of this address family, in the order it sets them: out, then in. */
export function bypassPolicies(af: typeof AF_INET | typeof AF_INET6): Buffer[] {
  return [XFRM_POLICY_OUT, XFRM_POLICY_IN].map((dir) => packXfrmUserpolicyInfo({ sel: { family: af }, dir, action: XFRM_POLICY_ALLOW }));
}

/** setsockopt of byte-string values, in order, on an fd of ours; no read-back (these options have none). */
export interface SetsockoptRequest {
  fd: number;
  /** The fd must be bound to this port and be of this address family: anything else is refused unchanged. */
  port: number;
  family: number;
  level: number;
  name: number;
  values: Buffer[];
}

export type SetsockoptTool = (req: SetsockoptRequest) => Promise<void>;

// sa_family is the first (host-order) u16 of any sockaddr, the port the next (network order) for IPv4 and IPv6.
// A refused option dies with strerror and errno, as charon logs them.
const PERL_SETSOCKOPT = [
  'my ($port, $family, $level, $name, @hex) = @ARGV;',
  'open(my $s, "+<&=3") or die "fd 3: $!\\n";',
  'my $addr = getsockname($s) or die "getsockname: $!\\n";',
  'my ($af, $bound) = unpack("S n", $addr);',
  '$bound == $port && $af == $family or die "fd 3 is bound to port $bound of family $af, not port $port of family $family: left unchanged\\n";',
  'for my $h (@hex) { setsockopt($s, $level, $name, pack("H*", $h)) or die "$! (" . ($! + 0) . ")\\n" }',
  'print "ok\\n";',
].join('\n');

/** A SetsockoptTool running perl with the socket inherited as fd 3. */
export function perlSetsockopt(perl = 'perl', timeoutMs = 5000): SetsockoptTool {
  return async (req) => {
    const args = [req.port, req.family, req.level, req.name].map(String);
    const out = await perlOnFd(perl, PERL_SETSOCKOPT, [...args, ...req.values.map((v) => v.toString('hex'))], req.fd, timeoutMs);
    if (out.trim() !== 'ok') throw new Error(`${perl} exited with 0, printed '${out.trim()}'`);
  };
}

/** What UdpTransport asks of every IKE socket when the kernel carries ESP (daemon.ipsec_backend: xfrm). */
export interface BypassSocketConfigurator {
  /** Both socket policies on this bound socket; rejects with the reason when the kernel refused one. */
  bypassIpsec(socket: dgram.Socket, at: Endpoint): Promise<void>;
}

/** charon's add_socket_bypass through a SetsockoptTool (perl by default). */
export class SockoptBypassConfigurator implements BypassSocketConfigurator {
  constructor(
    private readonly tool: SetsockoptTool = perlSetsockopt(),
    private readonly fdOf: (s: dgram.Socket) => number = socketFd,
  ) {}

  async bypassIpsec(socket: dgram.Socket, at: Endpoint): Promise<void> {
    const v6 = family(at.address) === 'udp6';
    const af = v6 ? AF_INET6 : AF_INET;
    try {
      await this.tool({
        fd: this.fdOf(socket),
        port: at.port,
        family: af,
        level: v6 ? SOL_IPV6 : SOL_IP,
        name: v6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY,
        values: bypassPolicies(af),
      });
    } catch (e) {
      throw new Error(`unable to set IPSEC_POLICY on socket: ${(e as Error).message}`);
    }
  }
}
