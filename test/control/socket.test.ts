// controlCall <-> ControlServer over a real Unix socket in a temp dir, and the built CLI (dist/cli.js) against
// a missing daemon, a bad config file and a live control socket.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { controlCall, NoDaemonError } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/timer-queue.js';
import { peerYaml } from '../helpers/peers.js';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const CLI = join(ROOT, 'dist', 'cli.js');
const run = promisify(execFile);

/** Run the built CLI; resolves with exit code, stdout and stderr (never rejects on a non-zero exit). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  try {
    const r = await run(process.execPath, [CLI, ...args], { timeout: 10_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** cli() with another environment. */
async function cliEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { timeout: 10_000, env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

let dir: string;
let daemon: Daemon;
let server: ControlServer | undefined;
let sock: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-sock-test-'));
  sock = join(dir, 'ikelab.sock');
  daemon = new Daemon(parseConfig(peerYaml('A'), 'demo-a.yaml'), {
    log: new Logger({}, [new MemorySink()]),
    clock: new ManualClock(),
    sendIke: () => {},
  });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(): Promise<ControlServer> {
  server = new ControlServer(daemon, sock);
  await server.start();
  return server;
}

describe('controlCall against a real socket', () => {
  test("list-sas, stats, initiate, and an error reply becomes a rejected Error with the daemon's message", async () => {
    await startServer();
    expect(existsSync(sock)).toBe(true);
    await expect(controlCall(sock, 'list-sas')).resolves.toEqual([]);
    await expect(controlCall(sock, 'stats')).resolves.toMatchObject({ sas: 0 });
    await expect(controlCall(sock, 'initiate', { ike: 'demo' })).resolves.toEqual({ ike: 'demo', uniqueId: 1, state: 'CONNECTING' });
    await expect(controlCall(sock, 'initiate', { ike: 'nope' })).rejects.toThrow("no connection named 'nope' (configured: demo)");
    await expect(controlCall(sock, 'terminate', { child: 'nope' })).rejects.toThrow("no CHILD_SA named 'nope' found");
  });

  test('several requests on one connection, one split across writes, answered in order', async () => {
    await startServer();
    const replies = await new Promise<string[]>((res, rej) => {
      const c = net.connect(sock);
      let buf = '';
      c.on('error', rej);
      c.on('data', (d) => {
        buf += d.toString();
        const lines = buf.split('\n').filter(Boolean);
        if (lines.length === 3) {
          c.end();
          res(lines);
        }
      });
      c.on('connect', () => {
        c.write('{"id":1,"cmd":"list-sas"}\n{"id":2,"cmd":"nope"}\n{"id":3,');
        setTimeout(() => c.write('"cmd":"list-sas"}\n'), 20);
      });
    });
    expect(replies.map((l) => JSON.parse(l))).toEqual([
      { id: 1, ok: true, result: [] },
      { id: 2, ok: false, error: "unknown command 'nope'" },
      { id: 3, ok: true, result: [] },
    ]);
  });

  test('a second server on a live socket path is refused; close() removes the socket file', async () => {
    await startServer();
    const other = new ControlServer(daemon, sock);
    await expect(other.start()).rejects.toThrow(`control socket ${sock} is in use by another ikelab daemon`);
    await server!.close();
    server = undefined;
    expect(existsSync(sock)).toBe(false);
  });

  test('no daemon: NoDaemonError naming the socket and how to start one', async () => {
    const missing = join(dir, 'missing.sock');
    const err = await controlCall(missing, 'list-sas').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoDaemonError);
    expect((err as Error).message).toBe(`no ikelab daemon is listening on ${missing} (start one with: ikelab start --config FILE)`);
  });
});

describe('the built CLI', () => {
  test('list-sas with no daemon (--socket): exit 3, the message names the socket', async () => {
    const missing = join(dir, 'none.sock');
    const r = await cli('list-sas', '--socket', missing);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`ikelab: no ikelab daemon is listening on ${missing} (start one with: ikelab start --config FILE)`);
  });

  test('list-sas with no daemon (--config): the socket comes from daemon.control_socket', async () => {
    const cfg = join(dir, 'ikelab.yaml');
    const socketPath = join(dir, 'from-config.sock');
    writeFileSync(cfg, peerYaml('A').replace(/control_socket: .*/, `control_socket: ${socketPath}`));
    const r = await cli('list-sas', '--config', cfg);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no ikelab daemon is listening on ${socketPath}`);
  });

  test('a bad config file: exit 2, the message names the file, the key path and what was expected', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, peerYaml('A').replace('esp_proposals: [aes256gcm16]', 'esp_proposals: [bogus-thing]'));
    const r = await cli('list-sas', '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ikelab: ${cfg}: connections.demo.children.net.esp_proposals[0]: expected a strongSwan ESP proposal`);
    expect(r.stderr).toContain('got "bogus-thing"');
    expect(r.stderr).toMatch(/\[line \d+, column \d+\]/);
  });

  test('a missing config file: exit 2, names the file', async () => {
    const cfg = join(dir, 'nope.yaml');
    const r = await cli('list-sas', '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(cfg);
  });

  test('unknown verb: exit 2 with the usage; no --socket or --config: the default socket', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ikelab: unknown verb 'frobnicate'");
    expect(r.stderr).toContain('usage: ikelab <verb> [options]');
    // the daemon's default daemon.control_socket: ikelab.sock in os.tmpdir() (TMPDIR here: nobody listens)
    const r2 = await cliEnv({ ...process.env, TMPDIR: dir }, 'list-sas');
    expect(r2.code).toBe(3);
    expect(r2.stderr).toContain(`no ikelab daemon is listening on ${join(dir, 'ikelab.sock')}`);
  });

  test('against a live control socket: list-sas --json, initiate, stats', async () => {
    await startServer();
    const empty = await cli('list-sas', '--json', '--socket', sock);
    expect(empty).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(empty.stdout)).toEqual([]);
    // --no-wait: the daemon's reply at once (this daemon's clock is manual: nothing would ever settle)
    const init = await cli('initiate', '--child', 'net', '--no-wait', '--socket', sock);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toEqual({ ike: 'demo', uniqueId: 1, state: 'CONNECTING' });
    const text = await cli('list-sas', '--socket', sock);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^demo: #1, CONNECTING, IKEv2, [0-9a-f]{16}_i\* 0{16}_r$/m);
    const bad = await cli('terminate', '--ike', 'nope', '--socket', sock);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("ikelab: no IKE_SA named 'nope' found");
  });
});
