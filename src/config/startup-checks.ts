// What `ikelab start` checks before it opens anything: problems that only show up once the daemon runs (a socket
// that cannot be created, an address this host does not have, a connection that cannot authenticate) are reported
// at load time, as ConfigErrors with file, key path and line like every other config problem. Not part of
// parseConfig itself: they depend on the host (interfaces, directories), and a config parsed elsewhere (tests, the
// control socket's `load` of a fragment) may legitimately leave connections or secrets out.

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Fail } from './build.js';
import { parseIp } from './ip.js';
import { findPsk } from './secrets.js';
import type { ConnectionConfig, IkelabConfig } from './types.js';

export interface StartupEnv {
  /** The host's addresses, `a.b.c.d/n` for a whole local prefix; default from os.networkInterfaces(). */
  hostAddresses?: string[];
  /** What daemon.ipsec_backend: xfrm needs of the host; default: this process and host (hostXfrmProbes). */
  xfrmHost?: XfrmHostProbes;
}

/** The facts the xfrm backend depends on, as functions so tests can answer them without root or a kernel. */
export interface XfrmHostProbes {
  platform: NodeJS.Platform;
  /** PATH, where child_process looks for `ip` and `perl`. */
  searchPath: string;
  /** Whether an executable of this name is in a directory of searchPath. */
  onPath(command: string): boolean;
  /** CapEff of this process (/proc/self/status); undefined when unreadable. */
  effectiveCaps(): bigint | undefined;
  uid(): number | undefined;
  /** Why the kernel's xfrm netlink interface (xfrm_user) does not answer; undefined when it does. */
  xfrmUserProblem(): string | undefined;
}

/** Throws (through fail) at the first problem, in the order they appear in a typical file. */
export function startupChecks(cfg: IkelabConfig, fail: Fail, env: StartupEnv = {}): void {
  checkConnections(cfg, fail);
  checkListen(cfg, fail, env.hostAddresses ?? hostAddresses());
  checkControlSocketDir(cfg, fail);
  if (cfg.daemon.ipsecBackend === 'xfrm') checkXfrmHost(fail, env.xfrmHost ?? hostXfrmProbes());
  for (const c of cfg.connections) checkSecret(cfg, c, fail);
}

/** A daemon with nothing to initiate and nothing to answer is a mistake (a wrong file, a misindented section). */
function checkConnections(cfg: IkelabConfig, fail: Fail): void {
  if (cfg.connections.length) return;
  fail(['connections'], {
    expected: 'at least one connection under connections:',
    got: 'none',
    detail: 'ikelab start without connections would neither initiate nor accept any IKE_SA',
  });
}

/**
 * The host's addresses; a loopback interface counts with its whole prefix (as `127.0.0.1/8`): Linux delivers all of
 * 127.0.0.0/8 locally, and a second loopback address (127.0.0.2, as config/demo-b.yaml uses) binds fine.
 */
function hostAddresses(): string[] {
  const listed = Object.values(networkInterfaces())
    .flat()
    .flatMap((a) => (!a ? [] : a.internal && a.family === 'IPv4' && a.cidr ? [a.cidr] : [a.address]));
  return [...new Set([...listed, ...configuredAddresses()])];
}

/**
 * os.networkInterfaces() (libuv) lists only interfaces that are up AND running, but an address on a link without
 * carrier yet (a veth whose peer is still down, a container network being attached) is configured and binds fine:
 * ask iproute2 for every configured address too. Without `ip` (not Linux) the libuv list is all there is.
 */
function configuredAddresses(): string[] {
  try {
    const out = execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    const links = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).flatMap((a) => (a.local ? [a.local] : [])));
  } catch {
    return [];
  }
}

/** Whether addr is one of the entries: an address, or an address/prefix range. */
function onHost(addr: string, host: string[]): boolean {
  const a = parseIp(addr);
  if (!a) return false;
  return host.some((h) => {
    const [ip, bits] = h.split('/');
    const b = parseIp(ip!);
    if (!b || b.length !== a.length) return false;
    const n = bits === undefined ? b.length * 8 : Number(bits);
    for (let i = 0; i < b.length; i++) {
      const keep = Math.max(0, Math.min(8, n - i * 8));
      const mask = (0xff << (8 - keep)) & 0xff;
      if ((a[i]! & mask) !== (b[i]! & mask)) return false;
    }
    return true;
  });
}

/**
 * A listen address the host does not have fails at bind with EADDRNOTAVAIL; say which key it came from and what the
 * host has instead (the usual cause: a config written for another machine or network namespace).
 */
function checkListen(cfg: IkelabConfig, fail: Fail, host: string[]): void {
  cfg.daemon.listen.forEach((addr, i) => {
    if (addr === '0.0.0.0' || addr === '::' || onHost(addr, host)) return;
    const shown = host.filter((h) => !h.startsWith('fe80:')).slice(0, 8);
    fail(['daemon', 'listen', i], {
      expected: `an address of this host (${shown.join(', ')}${host.length > shown.length ? ', ...' : ''}) or 0.0.0.0 / ::`,
      got: JSON.stringify(addr),
      detail: 'not configured on any interface here',
    });
  });
}

/**
 * The control socket is created in an existing directory the daemon's user can write to; otherwise listen() fails
 * with a bare ENOENT/EACCES that names neither the key nor the fix. The default (os.tmpdir()) normally passes.
 */
function checkControlSocketDir(cfg: IkelabConfig, fail: Fail): void {
  const path = cfg.daemon.controlSocket;
  const dir = dirname(resolve(path));
  let problem: string | undefined;
  try {
    if (!statSync(dir).isDirectory()) problem = `${dir} is not a directory`;
    else accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problem =
      code === 'ENOENT'
        ? `no directory ${dir}`
        : code === 'EACCES' || code === 'EPERM'
          ? `${dir} is not writable by uid ${process.getuid?.() ?? '?'}; omit the key for the default ${join(tmpdir(), 'ikelab.sock')}`
          : `${dir}: ${code ?? (e as Error).message}`;
  }
  if (problem)
    fail(['daemon', 'control_socket'], {
      expected: 'a unix socket path in an existing directory this user can write to',
      got: JSON.stringify(path),
      detail: problem,
    });
}

/**
 * Every connection authenticates with a PSK; one that no secret can match fails every IKE_AUTH with a bare
 * "no shared key found". Matching is secrets.ts's (charon's): a secret is a candidate when its ids match the
 * local or the remote identity; an identity of %any (the default remote id) may turn out to be anything, so then
 * any secret may be the one.
 */
function checkSecret(cfg: IkelabConfig, c: ConnectionConfig, fail: Fail): void {
  const local = c.local.id;
  const remote = c.remote.id;
  const open = local === '%any' || remote === '%any';
  if (open ? cfg.secrets.length > 0 : findPsk(cfg, local, remote) !== undefined) return;
  const have = cfg.secrets.map((s) => `${s.name}: ${s.ids.join(', ')}`);
  fail(['connections', c.name], {
    expected: `a secret in secrets: whose id matches local id ${local} or remote id ${remote} (auth: psk)`,
    got: have.length ? `no matching secret (${have.join('; ')})` : 'no secrets: section',
    detail: 'every IKE_AUTH of this connection would fail with no shared key found',
  });
}

/** linux/capability.h: what `ip xfrm` and the IKE sockets' bypass policies need in the network namespace. */
export const CAP_NET_ADMIN = 12;

export function hostXfrmProbes(): XfrmHostProbes {
  const searchPath = process.env.PATH ?? '';
  return {
    platform: process.platform,
    searchPath,
    onPath: (command) =>
      searchPath.split(':').some((dir) => {
        try {
          accessSync(join(dir || '.', command), constants.X_OK);
          return statSync(join(dir || '.', command)).isFile();
        } catch {
          return false;
        }
      }),
    effectiveCaps: () => {
      try {
        const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
        return m ? BigInt(`0x${m[1]}`) : undefined;
      } catch {
        return undefined;
      }
    },
    uid: () => process.getuid?.(),
    xfrmUserProblem: () => {
      // the cheapest xfrm netlink request there is (XFRM_MSG_GETSADINFO); it fails without xfrm_user
      try {
        execFileSync('ip', ['xfrm', 'state', 'count'], { timeout: 2000, stdio: ['ignore', 'ignore', 'pipe'] });
        return undefined;
      } catch (e) {
        const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
        return `'ip xfrm state count' failed: ${stderr || (e as Error).message}`;
      }
    },
  };
}

/**
 * daemon.ipsec_backend: xfrm hands every CHILD_SA to the kernel through `ip xfrm` and sets UDP_ENCAP and the IKE
 * bypass policies on the sockets through perl. Without any of them the daemon would start, negotiate, and then
 * fail at the first CHILD_SA with an `ip` error in the log; say so before anything starts. In the order an
 * operator fixes them: the image (ip, perl), then the privileges, then the host's kernel.
 */
function checkXfrmHost(fail: Fail, probe: XfrmHostProbes): void {
  const refuse = (expected: string, detail: string): never =>
    fail(['daemon', 'ipsec_backend'], { expected, got: '"xfrm"', detail: `${detail}; or use ipsec_backend: userspace` });
  if (probe.platform !== 'linux')
    refuse('userspace or none on this host', `xfrm is the Linux kernel's IPsec and this host runs ${probe.platform}`);
  if (!probe.onPath('ip'))
    refuse(
      "a host with iproute2's ip command for ipsec_backend xfrm",
      `no ip on PATH=${probe.searchPath}: install iproute2, ip xfrm installs every CHILD_SA`,
    );
  if (!probe.onPath('perl'))
    refuse(
      'a host with perl for ipsec_backend xfrm',
      `no perl on PATH=${probe.searchPath}: install perl-base, it sets UDP_ENCAP and the IKE bypass policies on the sockets`,
    );
  const caps = probe.effectiveCaps();
  if (caps !== undefined && !(caps & (1n << BigInt(CAP_NET_ADMIN))))
    refuse(
      'ipsec_backend xfrm run as root or with CAP_NET_ADMIN',
      `uid ${probe.uid() ?? '?'} has no CAP_NET_ADMIN (CapEff ${caps.toString(16).padStart(16, '0')}): run as root with it (docker: --cap-add NET_ADMIN --user 0)`,
    );
  const problem = probe.xfrmUserProblem();
  if (problem)
    refuse(
      'ipsec_backend xfrm on a kernel with xfrm_user (the xfrm netlink interface ip xfrm talks to)',
      `${problem}: modprobe xfrm_user on the host`,
    );
}
