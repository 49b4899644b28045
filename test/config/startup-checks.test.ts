// `ikelab start`'s checks (src/config/startup-checks.ts, src/run-daemon.ts): every problem found at start-up as one
// `ikelab: FILE: KEY.PATH: expected ... [line N, column M]` line on stderr with exit code 2 and no stack trace; the
// charon-style start-up lines; a SIGTERM that deletes the IKE_SAs within a bound; config/example.yaml starting as
// written. In-process for the messages, `node dist/cli.js start` for what a user sees.
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { hostXfrmProbes, type XfrmHostProbes } from '../../src/config/startup-checks.js';
import { peerYaml } from '../helpers/peers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const IS_ROOT = process.getuid?.() === 0;
const HAS_SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].some(existsSync);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-startup-'));
  chmodSync(dir, 0o755); // the EACCES test runs the CLI as nobody, who must reach the config
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOST = ['127.0.0.1/8', '10.0.0.5', 'fd00::5'];

/** A config that passes every start-up check on HOST; each test breaks one thing. */
function good(o: { daemon?: string; conn?: string; child?: string; secrets?: string } = {}): string {
  return `daemon:
  listen: [127.0.0.1]
  port: 1500
  natt_port: 4501
  control_socket: ${join(dir, 'ctl.sock')}
${o.daemon ?? ''}connections:
  bar:
    local_addrs: [127.0.0.1]
    remote_addrs: [127.0.0.2]
    local: { auth: psk, id: 127.0.0.1 }
    remote: { auth: psk, id: 127.0.0.2 }
${o.conn ?? ''}    children:
      net:
        rekey_time: 1h
${o.child ?? ''}${
  o.secrets ??
  `secrets:
  ike-bar:
    id: [127.0.0.1, 127.0.0.2]
    secret: barsecret
`
}`;
}

function startupError(text: string, host = HOST): ConfigError {
  try {
    parseConfig(text, 'ikelab.yaml', { startup: { hostAddresses: host } });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('no error');
}

describe('start-up config problems: file, key path, line', () => {
  test('the good config passes', () => {
    expect(parseConfig(good(), 'ikelab.yaml', { startup: { hostAddresses: HOST } }).connections).toHaveLength(1);
  });

  test('no connections', () => {
    const e = startupError('daemon:\n  port: 1500\n');
    expect(e.message).toBe(
      'ikelab.yaml: connections: expected at least one connection under connections:, got none ' +
        '(ikelab start without connections would neither initiate nor accept any IKE_SA) [line 1, column 1]',
    );
    // an empty file too; without the start-up checks it stays a valid (empty) config
    expect(startupError('').keyPath).toBe('connections');
    expect(parseConfig('', 'e.yaml').connections).toEqual([]);
  });

  test('a listen address this host does not have', () => {
    const e = startupError(
      good().replace('listen: [127.0.0.1]', 'listen: [127.0.0.1, 10.98.0.2]').replace('    local_addrs: [127.0.0.1]\n', ''),
    );
    expect(e.message).toBe(
      'ikelab.yaml: daemon.listen[1]: expected an address of this host (127.0.0.1/8, 10.0.0.5, fd00::5) or 0.0.0.0 / ::, ' +
        'got "10.98.0.2" (not configured on any interface here) [line 2, column 23]',
    );
    // all of 127/8 is local on Linux; IPv6 compares by value; wildcards always pass
    for (const l of ['127.0.0.2', 'fd00:0::5', '0.0.0.0', '::']) {
      const text = good().replace('listen: [127.0.0.1]', `listen: ["${l}"]`).replace('    local_addrs: [127.0.0.1]\n', '');
      expect(() => parseConfig(text, 'ikelab.yaml', { startup: { hostAddresses: HOST } })).not.toThrow();
    }
  });

  test('the control socket directory is missing', () => {
    const e = startupError(good().replace(join(dir, 'ctl.sock'), '/nonexistent-ikelab/ctl.sock'));
    expect(e.message).toBe(
      'ikelab.yaml: daemon.control_socket: expected a unix socket path in an existing directory this user can write to, ' +
        'got "/nonexistent-ikelab/ctl.sock" (no directory /nonexistent-ikelab) [line 5, column 19]',
    );
  });

  test('the log file directory is missing (checked for every load, start included)', () => {
    const e = startupError(good({ daemon: '  log: { file: /nonexistent-ikelab/ikelab.log }\n' }));
    expect([e.keyPath, e.line]).toEqual(['daemon.log.file', 6]);
    expect(e.message).toContain('no directory /nonexistent-ikelab');
  });

  test('CHILD life_time below rekey_time (swanctl: the hard end comes after the rekey point)', () => {
    const e = startupError(good({ child: '        life_time: 30m\n' }));
    expect(e.message).toBe(
      'ikelab.yaml: connections.bar.children.net.life_time: expected a life_time of at least rekey_time (1h), got 30m ' +
        '(the CHILD_SA would expire before it is rekeyed; omit life_time for rekey_time + 10%) [line 15, column 20]',
    );
    // not only at start: the control socket's `load` refuses it too
    expect(() => parseConfig(good({ child: '        life_time: 30m\n' }), 'x.yaml')).toThrow(/life_time: expected a life_time/);
    // equal is allowed (charon's own default for a 4s rekey_time is 4s), as is 0 = no hard end
    for (const life of ['1h', '0s']) expect(() => parseConfig(good({ child: `        life_time: ${life}\n` }), 'x.yaml')).not.toThrow();
  });

  test('IKE life_time: swanctl has none, and the message says what ends an IKE_SA', () => {
    const e = startupError(good({ conn: '    rekey_time: 4h\n    life_time: 3h\n' }));
    expect([e.keyPath, e.line]).toEqual(['connections.bar.life_time', 13]);
    expect(e.detail).toBe('an IKE_SA ends over_time after rekey_time/reauth_time (swanctl); life_time belongs to children.<child>');
  });

  test('a PSK connection without a matching secret', () => {
    const e = startupError(good({ secrets: 'secrets:\n  ike-other:\n    id: [192.0.2.1]\n    secret: x\n' }));
    expect(e.message).toBe(
      'ikelab.yaml: connections.bar: expected a secret in secrets: whose id matches local id 127.0.0.1 or remote id 127.0.0.2 ' +
        '(auth: psk), got no matching secret (ike-other: 192.0.2.1) (every IKE_AUTH of this connection would fail with no ' +
        'shared key found) [line 8, column 5]',
    );
    expect(startupError(good({ secrets: '' })).got).toBe('no secrets: section');
    // secrets.ts's matching: one id is enough, a secret without ids is %any, wildcards as charon
    for (const ids of ['[127.0.0.2]', '[127.0.0.1]', '"%any"']) {
      const text = good({ secrets: `secrets:\n  ike-x:\n    id: ${ids}\n    secret: x\n` });
      expect(() => parseConfig(text, 'ikelab.yaml', { startup: { hostAddresses: HOST } })).not.toThrow();
    }
    // a remote id of %any may be anything: any secret may be the one
    const open = good({ secrets: 'secrets:\n  ike-o:\n    id: [192.0.2.1]\n    secret: x\n' }).replace('id: 127.0.0.2 }', 'id: "%any" }');
    expect(() => parseConfig(open, 'ikelab.yaml', { startup: { hostAddresses: HOST } })).not.toThrow();
  });
});

/** A host where ipsec_backend: xfrm can run; each test takes one thing away. */
const XFRM_HOST: XfrmHostProbes = {
  platform: 'linux',
  searchPath: '/usr/sbin:/usr/bin',
  onPath: () => true,
  effectiveCaps: () => 1n << 12n,
  uid: () => 0,
  xfrmUserProblem: () => undefined,
};
const XFRM = '  ipsec_backend: xfrm\n';

function xfrmError(probe: Partial<XfrmHostProbes>): ConfigError {
  try {
    parseConfig(good({ daemon: XFRM }), 'ikelab.yaml', { startup: { hostAddresses: HOST, xfrmHost: { ...XFRM_HOST, ...probe } } });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('no error');
}

describe('ipsec_backend: xfrm needs ip, perl, CAP_NET_ADMIN and xfrm_user: each missing one names the key and its line', () => {
  test('a host with all of them passes; ip and perl are looked for, the other backends ask nothing', () => {
    const asked: string[] = [];
    const probe = { ...XFRM_HOST, onPath: (c: string) => (asked.push(c), true) };
    expect(
      parseConfig(good({ daemon: XFRM }), 'ikelab.yaml', { startup: { hostAddresses: HOST, xfrmHost: probe } }).daemon.ipsecBackend,
    ).toBe('xfrm');
    expect(asked).toEqual(['ip', 'perl']);
    const untouchable = new Proxy({} as XfrmHostProbes, {
      get: () => {
        throw new Error('probed');
      },
    });
    for (const backend of ['userspace', 'none'])
      expect(() =>
        parseConfig(good({ daemon: `  ipsec_backend: ${backend}\n` }), 'ikelab.yaml', {
          startup: { hostAddresses: HOST, xfrmHost: untouchable },
        }),
      ).not.toThrow();
  });

  test('not Linux', () => {
    expect(xfrmError({ platform: 'darwin' }).message).toBe(
      'ikelab.yaml: daemon.ipsec_backend: expected userspace or none on this host, got "xfrm" (xfrm is the Linux ' +
        "kernel's IPsec and this host runs darwin; or use ipsec_backend: userspace) [line 6, column 18]",
    );
  });

  test('no ip (iproute2)', () => {
    expect(xfrmError({ onPath: (c) => c !== 'ip' }).message).toBe(
      "ikelab.yaml: daemon.ipsec_backend: expected a host with iproute2's ip command for ipsec_backend xfrm, got " +
        '"xfrm" (no ip on PATH=/usr/sbin:/usr/bin: install iproute2, ip xfrm installs every CHILD_SA; or use ' +
        'ipsec_backend: userspace) [line 6, column 18]',
    );
  });

  test('no perl', () => {
    expect(xfrmError({ onPath: (c) => c !== 'perl' }).message).toBe(
      'ikelab.yaml: daemon.ipsec_backend: expected a host with perl for ipsec_backend xfrm, got "xfrm" (no perl on ' +
        'PATH=/usr/sbin:/usr/bin: install perl-base, it sets UDP_ENCAP and the IKE bypass policies on the sockets; or ' +
        'use ipsec_backend: userspace) [line 6, column 18]',
    );
  });

  test('no CAP_NET_ADMIN: root is not enough (a container without cap_add), the capability without root is', () => {
    // Docker's default set for root in a container: no NET_ADMIN (bit 12)
    expect(xfrmError({ effectiveCaps: () => 0xa80425fbn }).message).toBe(
      'ikelab.yaml: daemon.ipsec_backend: expected ipsec_backend xfrm run as root or with CAP_NET_ADMIN, got "xfrm" ' +
        '(uid 0 has no CAP_NET_ADMIN (CapEff 00000000a80425fb): run as root with it (docker: --cap-add NET_ADMIN ' +
        '--user 0); or use ipsec_backend: userspace) [line 6, column 18]',
    );
    expect(xfrmError({ uid: () => 1000, effectiveCaps: () => 0n }).detail).toMatch(/^uid 1000 has no CAP_NET_ADMIN \(CapEff 0{16}\)/);
    const capOnly = { ...XFRM_HOST, uid: () => 1000, effectiveCaps: () => 1n << 12n };
    expect(() => parseConfig(good({ daemon: XFRM }), 'ikelab.yaml', { startup: { hostAddresses: HOST, xfrmHost: capOnly } })).not.toThrow();
  });

  test('no xfrm_user in the kernel', () => {
    const e = xfrmError({ xfrmUserProblem: () => "'ip xfrm state count' failed: Protocol not supported" });
    expect(e.message).toBe(
      'ikelab.yaml: daemon.ipsec_backend: expected ipsec_backend xfrm on a kernel with xfrm_user (the xfrm netlink ' +
        'interface ip xfrm talks to), got "xfrm" (\'ip xfrm state count\' failed: Protocol not supported: modprobe ' +
        'xfrm_user on the host; or use ipsec_backend: userspace) [line 6, column 18]',
    );
  });

  test("this host's probes: PATH lookup, CapEff from /proc, and (as root) xfrm_user answering", () => {
    const real = hostXfrmProbes();
    expect(real.platform).toBe(process.platform);
    expect(real.onPath('sh')).toBe(true);
    expect(real.onPath('ikelab-no-such-command')).toBe(false);
    expect(real.onPath('.')).toBe(false); // a directory is not a command
    if (process.platform !== 'linux') return;
    expect(typeof real.effectiveCaps()).toBe('bigint');
    if (IS_ROOT) {
      expect((real.effectiveCaps()! >> 12n) & 1n).toBe(1n);
      expect(real.xfrmUserProblem()).toBeUndefined();
    }
  });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `node dist/cli.js start --config FILE` as a child: its output so far, a way to wait for a line, its exit. */
function startCli(file: string, opts: { asNobody?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const argv = [process.execPath, CLI, 'start', '--config', file];
  const [cmd, ...args] = opts.asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv] : argv;
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, ...out })));
  return {
    child,
    out,
    exited,
    async waitFor(re: RegExp, ms = 10_000): Promise<void> {
      const end = Date.now() + ms;
      while (!re.test(out.stdout)) {
        if (child.exitCode !== null || Date.now() > end) throw new Error(`no ${re} in:\n${out.stdout}\n${out.stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = dgram.createSocket('udp4');
    s.once('error', rej);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

describe.skipIf(!existsSync(CLI))('ikelab start: one line on stderr, exit 2, no stack trace', () => {
  test('an empty config', async () => {
    const file = write('empty.yaml', '');
    const r = await startCli(file).exited;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `ikelab: ${file}: connections: expected at least one connection under connections:, got none ` +
        '(ikelab start without connections would neither initiate nor accept any IKE_SA)\n',
    );
    expect(r.stdout).toBe(''); // nothing was started, so no banner
  });

  test('a control socket directory that does not exist', async () => {
    const file = write('nodir.yaml', good().replace(join(dir, 'ctl.sock'), join(dir, 'missing', 'ctl.sock')));
    const r = await startCli(file).exited;
    expect(r.code).toBe(2);
    noStack(r.stderr);
    expect(r.stderr).toBe(
      `ikelab: ${file}: daemon.control_socket: expected a unix socket path in an existing directory this user can write ` +
        `to, got "${join(dir, 'missing', 'ctl.sock')}" (no directory ${join(dir, 'missing')}) [line 5, column 19]\n`,
    );
  });

  test('a log file that cannot be opened (a directory) names daemon.log.file and its line', async () => {
    const logFile = join(dir, 'a-directory');
    mkdirSync(logFile, { recursive: true });
    const file = write('dirlog.yaml', good({ daemon: `  log:\n    file: ${logFile}\n` }));
    const r = await startCli(file).exited;
    expect(r.code).toBe(2);
    noStack(r.stderr);
    expect(r.stderr).toBe(
      `ikelab: ${file}: daemon.log.file: expected a file ikelab can append to, got "${logFile}" (EISDIR) [line 7, column 11]\n`,
    );
  });

  test('so does daemon.log.timeline (every log file is opened at start, through the same check)', async () => {
    const logFile = join(dir, 'a-directory');
    mkdirSync(logFile, { recursive: true });
    const file = write('dirtimeline.yaml', good({ daemon: `  log:\n    timeline: ${logFile}\n` }));
    const r = await startCli(file).exited;
    expect(r.code).toBe(2);
    noStack(r.stderr);
    expect(r.stderr).toBe(
      `ikelab: ${file}: daemon.log.timeline: expected a file ikelab can append to, got "${logFile}" (EISDIR) [line 7, column 15]\n`,
    );
  });

  test('a port in use (EADDRINUSE) names daemon.natt_port and its line', async () => {
    const [port, natt] = [await freeUdpPort(), await freeUdpPort()];
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(natt, '127.0.0.1', () => r()));
    try {
      const file = write('inuse.yaml', good().replace('port: 1500', `port: ${port}`).replace('natt_port: 4501', `natt_port: ${natt}`));
      const r = await startCli(file).exited;
      expect(r.code).toBe(2);
      noStack(r.stderr);
      expect(r.stderr).toBe(
        `ikelab: ${file}: daemon.natt_port: expected a UDP port ikelab can bind, got ${natt} (127.0.0.1[${natt}] is already ` +
          'bound by another process, charon or another ikelab perhaps) [line 4, column 14]\n',
      );
    } finally {
      blocker.close();
    }
  });

  test.skipIf(!IS_ROOT || !HAS_SETPRIV)('port 500 as an unprivileged user (EACCES) names daemon.port', async () => {
    const sockDir = join(dir, 'nobody');
    mkdirSync(sockDir, { recursive: true });
    chmodSync(sockDir, 0o777);
    const file = write('priv.yaml', good().replace('port: 1500', 'port: 500').replace(join(dir, 'ctl.sock'), join(sockDir, 'ctl.sock')));
    chmodSync(file, 0o644); // nobody has to read it
    const r = await startCli(file, { asNobody: true }).exited;
    expect(r.code).toBe(2);
    noStack(r.stderr);
    expect(r.stderr).toBe(
      `ikelab: ${file}: daemon.port: expected a UDP port ikelab can bind, got 500 (127.0.0.1[500]: ports below 1024 need ` +
        'root or CAP_NET_BIND_SERVICE; or use e.g. port: 1500 and natt_port: 4501) [line 3, column 9]\n',
    );
  });
});

describe.skipIf(!existsSync(CLI) || !IS_ROOT || !HAS_SETPRIV || process.platform !== 'linux')('ikelab start: xfrm on this host', () => {
  test('as nobody (no capability): exit 2 naming daemon.ipsec_backend, from the real probes', async () => {
    const sockDir = join(dir, 'nobody-xfrm');
    mkdirSync(sockDir, { recursive: true });
    chmodSync(sockDir, 0o777);
    const file = write('xfrm-nobody.yaml', good({ daemon: XFRM }).replace(join(dir, 'ctl.sock'), join(sockDir, 'ctl.sock')));
    chmodSync(file, 0o644);
    const r = await startCli(file, { asNobody: true }).exited;
    expect(r.code).toBe(2);
    noStack(r.stderr);
    expect(r.stderr).toMatch(
      new RegExp(
        `^ikelab: ${file.replace(/[.]/g, '\\.')}: daemon\\.ipsec_backend: expected ipsec_backend xfrm run as root or with CAP_NET_ADMIN, ` +
          'got "xfrm" \\(uid 65534 has no CAP_NET_ADMIN \\(CapEff 0{16}\\): .*\\) \\[line 6, column 18\\]\\n$',
      ),
    );
    expect(r.stdout).toBe('');
  });
});

describe.skipIf(!existsSync(CLI))('ikelab start: banner and shutdown', () => {
  test('charon-style start-up lines through the logger (stdout and daemon.log.file alike), SIGTERM exits 0', async () => {
    const [port, natt] = [await freeUdpPort(), await freeUdpPort()];
    const logFile = join(dir, 'banner.log');
    const file = write(
      'banner.yaml',
      good({ daemon: `  log: { file: ${logFile} }\n` })
        .replace('port: 1500', `port: ${port}`)
        .replace('natt_port: 4501', `natt_port: ${natt}`),
    );
    const d = startCli(file);
    await d.waitFor(/loaded connection 'bar'/);
    const lines = d.out.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\w{3} [ \d]\d \d\d:\d\d:\d\d /, ''));
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(lines[0]).toMatch(
      new RegExp(
        `^00\\[DMN\\] Starting ikelab IKEv2 daemon \\(ikelab ${version.replace(/\./g, '\\.')}, Node ${process.version}, \\S+ \\S+, \\S+\\)$`,
      ),
    );
    expect(lines.slice(1)).toEqual([
      `00[DMN] listening on 127.0.0.1[${port}] (IKE) and 127.0.0.1[${natt}] (NAT-T)`,
      `00[DMN] control socket ${join(dir, 'ctl.sock')}`,
      "00[CFG] loaded IKE shared key with id 'ike-bar' for: '127.0.0.1', '127.0.0.2'",
      "00[CFG] loaded connection 'bar'",
    ]);
    d.child.kill('SIGTERM');
    const r = await d.exited;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/00\[DMN\] SIGTERM received, shutting down\n$/);
    // every sink gets them: the log file has the same lines
    expect(readFileSync(logFile, 'utf8')).toBe(r.stdout);
  });

  test('SIGTERM sends DELETE for the established IKE_SA and waits for the answer; an unanswered one is bounded; a second signal exits at once', async () => {
    const [pa, na, pb, nb] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    const yaml = (who: 'A' | 'B', port: number, natt: number, peerPort: number, start: 'start' | 'none') =>
      peerYaml(who, { startAction: start, ipsecBackend: 'none' })
        .replace(/port: \d+\n {2}natt_port: \d+/, `port: ${port}\n  natt_port: ${natt}`)
        .replace(/remote_port: \d+/, `remote_port: ${peerPort}`)
        .replace(/control_socket: .*/, `control_socket: ${join(dir, `peer-${who}.sock`)}`)
        .replace('log: { stdout: false', 'log: { stdout: true');
    const fa = write('a.yaml', yaml('A', pa, na, pb, 'start'));
    const fb = write('b.yaml', yaml('B', pb, nb, pa, 'none'));
    const up = /IKE_SA demo\[\d+\] established/;

    // B answers: A's shutdown is as fast as one round trip, and B saw the DELETE
    const b = startCli(fb);
    await b.waitFor(/loaded connection/);
    let a = startCli(fa);
    await Promise.all([a.waitFor(up), b.waitFor(up)]);
    let t0 = Date.now();
    a.child.kill('SIGTERM');
    let r = await a.exited;
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r.stdout).toMatch(/sending DELETE for IKE_SA demo\[1\]/);
    expect(r.stdout).not.toMatch(/did not answer the DELETE/); // the answer ended the wait, not the bound
    await b.waitFor(/received DELETE for IKE_SA demo\[1\]/, 3000);

    // B frozen: A waits the bound (1 s from the first DELETE), then exits 0 all the same
    a = startCli(fa);
    await Promise.all([a.waitFor(up), b.waitFor(/IKE_SA demo\[2\] established/)]);
    b.child.kill('SIGSTOP');
    try {
      t0 = Date.now();
      a.child.kill('SIGTERM');
      r = await a.exited;
      const took = Date.now() - t0;
      expect(r.code).toBe(0);
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(3000);
      expect(r.stdout).toMatch(/1 IKE_SA\(s\) did not answer the DELETE within 1000 ms/);
    } finally {
      b.child.kill('SIGCONT');
    }
    // ... unless a second signal comes: then at once, with 128 + the signal's number
    a = startCli(fa);
    await Promise.all([a.waitFor(up), b.waitFor(/IKE_SA demo\[3\] established/)]);
    b.child.kill('SIGSTOP');
    try {
      t0 = Date.now();
      a.child.kill('SIGTERM');
      await a.waitFor(/SIGTERM received, shutting down/, 2000);
      a.child.kill('SIGINT');
      r = await a.exited;
      expect(r.code).toBe(130);
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      b.child.kill('SIGCONT');
    }
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
  }, 30_000);
});

describe.skipIf(!existsSync(CLI))('config/example.yaml starts as written', () => {
  test('a quiet responder on 127.0.0.1: the banner, nothing initiated, SIGTERM exits 0', async () => {
    let file = join(ROOT, 'config/example.yaml');
    if (!IS_ROOT) {
      // ports 500/4500 need root: the unprivileged alternative its comments show, nothing else changed
      file = join(dir, 'example.yaml');
      copyFileSync(join(ROOT, 'config/example.yaml'), file);
      writeFileSync(
        file,
        readFileSync(file, 'utf8')
          .replace(/^ {2}port: 500 /m, '  port: 1500 ')
          .replace(/^ {2}natt_port: 4500 /m, '  natt_port: 4501 '),
      );
    }
    // its default control socket (os.tmpdir()) in a directory of this test's own, so no other daemon's is touched
    const tmp = join(dir, 'example-tmp');
    mkdirSync(tmp, { recursive: true });
    const d = startCli(file, { env: { TMPDIR: tmp } });
    await d.waitFor(/loaded connection 'bar'/);
    expect(d.out.stdout).toMatch(/listening on 127\.0\.0\.1\[(500|1500)\] \(IKE\) and 127\.0\.0\.1\[(4500|4501)\] \(NAT-T\)/);
    expect(d.out.stdout).toContain(`control socket ${join(tmp, 'ikelab.sock')}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(d.out.stdout).not.toMatch(/initiating/);
    d.child.kill('SIGTERM');
    const r = await d.exited;
    expect(r.code).toBe(0);
    noStack(r.stderr);
    expect(r.stderr).toBe('');
  });
});
