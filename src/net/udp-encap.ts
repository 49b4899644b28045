// Kernel ESP-in-UDP (RFC 3948) for the xfrm backend: Linux hands ESP arriving on the NAT-T port to its xfrm states
// only when the IKE daemon's socket on that port has setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP), as
// charon's socket-default plugin does through kernel-netlink's enable_udp_decap. With it, the kernel consumes ESP
// and NAT-T keepalives itself and still passes IKE (non-ESP marker, four zero bytes, kept) up to the socket.
//
// Node has no setsockopt, and a native addon would tie the package to a compiler. So a short-lived child process
// inherits the socket as its fd 3 (the same open socket, not a copy) and sets the option there:
// - perl, not python3: perl-base is Essential in Debian, so node:*-bookworm(-slim) images have it; python3 is not.
// - the fd comes from node:dgram's internal state (the handle's `fd`): no public API gives it. Every own symbol of
//   the socket is searched for a `handle` with a numeric fd, so a renamed symbol still works; the documented-as-
//   deprecated `_handle` getter (DEP0112) would print a runtime warning. Scanning /proc/self/fd against
//   /proc/net/udp was the other way, with more parsing for the same answer.
// - the child checks the fd's bound port before touching it (a wrong fd is refused, never changed), and reads the
//   option back after setting it, so "enabled" means the kernel says so.
// No capability is needed for this option; the xfrm states themselves need CAP_NET_ADMIN (ip xfrm).
import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';
import { type Endpoint, fmtEndpoint } from './endpoint.js';

/** linux/udp.h; the values charon's kernel-netlink uses. */
export const SOL_UDP = 17;
export const UDP_ENCAP = 100;
export const UDP_ENCAP_ESPINUDP = 2;

/** getsockopt of one integer option on an fd of ours, with a setsockopt before it when `set` is given. */
export interface SockoptRequest {
  fd: number;
  /** The port the fd must be bound to: anything else is refused before any change. */
  port: number;
  level: number;
  name: number;
  set?: number;
}

/** The option's value before and after (equal when nothing was set). */
export interface SockoptResult {
  before: number;
  after: number;
}

export type SockoptTool = (req: SockoptRequest) => Promise<SockoptResult>;

/** What UdpTransport asks of the NAT-T socket when the kernel carries ESP (daemon.ipsec_backend: xfrm). */
export interface EncapSocketConfigurator {
  /** Turn on ESP-in-UDP decapsulation for this bound socket; rejects with the reason when it is not on afterwards. */
  enableEspInUdp(socket: dgram.Socket, at: Endpoint): Promise<void>;
}

/** The OS file descriptor of a bound node:dgram socket (Linux, macOS); throws when Node keeps it elsewhere. */
export function socketFd(socket: dgram.Socket): number {
  const holder = socket as unknown as Record<symbol, unknown>;
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const state = holder[sym];
    if (typeof state !== 'object' || state === null) continue;
    const fd = (state as { handle?: { fd?: unknown } }).handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  throw new Error(
    `cannot find the file descriptor of a node:dgram socket in Node ${process.version} (its internal state changed, or the socket is not bound)`,
  );
}

// fd 3 is the inherited socket. getsockname's port sits at bytes 2-3 in network order for IPv4 and IPv6 alike, so
// no module beyond perl-base is needed. Prints "before after".
const PERL_SOCKOPT = [
  'my ($port, $level, $name, $set) = @ARGV;',
  'open(my $s, "+<&=3") or die "fd 3: $!\\n";',
  'my $addr = getsockname($s) or die "getsockname: $!\\n";',
  'my $bound = unpack("x2 n", $addr);',
  '$bound == $port or die "fd 3 is bound to port $bound, not $port: left unchanged\\n";',
  'sub get { my $v = getsockopt($s, $level, $name); defined $v or die "getsockopt: $!\\n"; unpack("i", $v) }',
  'my $before = get();',
  'if (defined $set) { setsockopt($s, $level, $name, pack("i", $set)) or die "setsockopt: $!\\n" }',
  'print $before, " ", get(), "\\n";',
].join('\n');

/**
 * Runs a perl script with `fd` inherited as its fd 3 and resolves with what it printed; rejects with what it died
 * with. Shared with udp-bypass.ts: every socket option Node lacks goes through here.
 */
export function perlOnFd(perl: string, script: string, args: string[], fd: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(perl, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe', fd], timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'ENOENT'
            ? `'${perl}' not found: setting a socket option needs perl (Debian's Essential perl-base package)`
            : `running '${perl}': ${e.message}`,
        ),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else
        reject(new Error(err.trim() || (signal ? `${perl} killed by ${signal}` : `${perl} exited with ${code}, printed '${out.trim()}'`)));
    });
  });
}

/** A SockoptTool running perl with the socket inherited as fd 3. */
export function perlSockopt(perl = 'perl', timeoutMs = 5000): SockoptTool {
  return async (req) => {
    const args = [String(req.port), String(req.level), String(req.name), ...(req.set === undefined ? [] : [String(req.set)])];
    const out = await perlOnFd(perl, PERL_SOCKOPT, args, req.fd, timeoutMs);
    const m = /^(-?\d+) (-?\d+)$/.exec(out.trim());
    if (!m) throw new Error(`${perl} exited with 0, printed '${out.trim()}'`);
    return { before: Number(m[1]), after: Number(m[2]) };
  };
}

/** UDP_ENCAP_ESPINUDP through a SockoptTool (perl by default), confirmed by reading it back. */
export class SockoptEncapConfigurator implements EncapSocketConfigurator {
  constructor(
    private readonly tool: SockoptTool = perlSockopt(),
    private readonly fdOf: (s: dgram.Socket) => number = socketFd,
  ) {}

  async enableEspInUdp(socket: dgram.Socket, at: Endpoint): Promise<void> {
    const fd = this.fdOf(socket);
    const r = await this.tool({ fd, port: at.port, level: SOL_UDP, name: UDP_ENCAP, set: UDP_ENCAP_ESPINUDP });
    if (r.after !== UDP_ENCAP_ESPINUDP)
      throw new Error(`UDP_ENCAP on ${fmtEndpoint(at)} reads back ${r.after} after setting ${UDP_ENCAP_ESPINUDP}`);
  }
}
