// A real daemon (dist/cli.js start) started under umask 000: its control socket is still 0600, and another user
// (nobody, via setpriv) cannot run any verb against it; the daemon's state is unchanged afterwards. A positive
// control (the same socket opened to 0666 for a moment) proves the harness would have let nobody in otherwise.
// Needs root (to switch to nobody); skipped with a notice otherwise, and failing instead when CI is set.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boxed } from '../helpers/lab.js';
import { peerYaml } from '../helpers/peers.js';
import { until } from './helpers.js';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const CLI = join(ROOT, 'dist', 'cli.js');
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

function canRun(): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('not running as root (switching to another uid needs root)');
  if (!['/usr/bin/setpriv', '/bin/setpriv'].some(existsSync)) missing.push('setpriv (util-linux) not found');
  if (!existsSync(CLI)) missing.push(`${CLI} missing (npm run build)`);
  if (!missing.length) return true;
  const message = `CONTROL SOCKET OTHER-USER TEST ${process.env.CI ? 'REQUIRED (CI is set) BUT UNAVAILABLE' : 'SKIPPED'}: ${missing.join('; ')}`;
  process.stderr.write(`\n${boxed(message)}\n\n`);
  if (process.env.CI) throw new Error(message);
  return false;
}
const RUN = canRun();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[]): Promise<Result> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: 15_000, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      res({ code, stdout, stderr });
    });
  });
}
const cliAsNobody = (...args: string[]) => run('setpriv', [...NOBODY, '--', process.execPath, CLI, ...args]);
const cliAsRoot = (...args: string[]) => run(process.execPath, [CLI, ...args]);

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

let dir: string;
let sock: string;
let cfg: string;
let daemon: ChildProcess | undefined;
let exited = false;
let output = '';

describe.skipIf(!RUN)('control socket against another uid', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ikelab-other-user-'));
    // nobody may enter the directory: the socket's own mode must be what keeps them out
    chmodSync(dir, 0o755);
    sock = join(dir, 'ikelab.sock');
    cfg = join(dir, 'ikelab.yaml');
    const [port, natt] = [await freeUdpPort(), await freeUdpPort()];
    writeFileSync(
      cfg,
      peerYaml('A')
        .replace(/control_socket: .*/, `control_socket: ${sock}`)
        .replace(/port: \d+\n {2}natt_port: \d+/, `port: ${port}\n  natt_port: ${natt}`)
        .replace('log: { stdout: false', 'log: { stdout: true'),
    );
    chmodSync(cfg, 0o644); // readable by others while it holds a PSK: the daemon warns at start
    // PR_SET_PDEATHSIG: the daemon dies with this worker whatever happens; exec keeps the PID ours to signal
    daemon = spawn(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'sh', '-c', 'umask 000; exec "$0" "$@"', process.execPath, CLI, 'start', '--config', cfg],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    daemon.stdout!.on('data', (d) => (output += d));
    daemon.stderr!.on('data', (d) => (output += d));
    daemon.on('exit', () => (exited = true));
    const up = await until(() => exited || existsSync(sock), 10_000);
    if (!up || exited) throw new Error(`the daemon did not come up:\n${output}`);
  });

  afterAll(async () => {
    if (daemon && !exited) {
      daemon.kill('SIGTERM');
      if (!(await until(() => exited, 5000))) daemon.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the socket is 0600 and owned by the daemon's user although it ran under umask 000", () => {
    const st = statSync(sock);
    expect(st.isSocket()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe('600');
    expect(st.uid).toBe(0);
  });

  test('the daemon warned that its PSK file is readable by others', async () => {
    expect(await until(() => output.includes('permissions 0644'), 3000)).toBe(true);
    expect(output).toContain(`config file ${cfg} holds 1 secret(s) but permissions 0644 give group or others access to it; chmod 600 it`);
  });

  test('nobody: every verb fails with a permission error, the daemon state is unchanged', async () => {
    const evil = join(dir, 'evil.yaml');
    writeFileSync(evil, peerYaml('A').replace('  demo:\n', '  evil:\n'));
    chmodSync(evil, 0o644);
    const verbs = [
      ['list-sas'],
      ['stats'],
      ['ipsec-sa'],
      ['initiate', '--child', 'net'],
      ['terminate', '--ike', 'demo'],
      ['rekey', '--ike', 'demo'],
      ['fault', '--mode', 'silent'],
      ['load', '--config', evil],
    ];
    const results = await Promise.all(verbs.map((v) => cliAsNobody(...v, '--socket', sock)));
    for (const [i, v] of verbs.entries()) {
      const r = results[i]!;
      expect(r, v.join(' ')).toMatchObject({ code: 1, stdout: '' });
      expect(r.stderr.trim(), v.join(' ')).toBe(
        `ikelab: permission denied on control socket ${sock} (EACCES): only the user running the daemon may use it`,
      );
    }
    // unchanged: no SA was initiated, the attacker's config was not loaded, the daemon still answers its owner
    const ls = await cliAsRoot('list-sas', '--json', '--socket', sock);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);
    const init = await cliAsRoot('initiate', '--ike', 'evil', '--socket', sock);
    expect(init.stderr.trim()).toBe("ikelab: no connection named 'evil' (configured: demo)");
    expect(exited).toBe(false);
  }, 60_000);

  test('positive control: with the socket opened to 0666, the same nobody command works', async () => {
    chmodSync(sock, 0o666);
    try {
      const r = await cliAsNobody('list-sas', '--json', '--socket', sock);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
    } finally {
      chmodSync(sock, 0o600);
    }
  });
});
