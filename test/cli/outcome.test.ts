// `ikelab initiate | terminate | rekey` wait for the result, as swanctl --initiate does: run as a user runs them
// (dist/cli.js as a child process) against two ikelab daemons on loopback (real UDP, real timers: 127.0.0.1
// initiates to 127.0.0.2). Exit 0 on success, 1 naming the notify or `peer not responding`, 3 without a daemon;
// --json prints one result object. And list-sas --json of 1,000 SAs through a pipe parses in full (the CLI sets
// its exit code and lets stdout drain instead of exiting right after the write).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { controlCall } from '../../src/control/client.js';
import { commandTable } from '../../src/control/commands/table.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import type { SaJson } from '../../src/ops/sa-json.js';
import { IKE_PORT, NATT_PORT, type PeerName, peerYaml } from '../helpers/peers.js';
import { rig } from '../control/helpers.js';

// every case starts node processes, seconds each on a busy CI host
vi.setConfig({ testTimeout: 120_000 });

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** The CLI, asynchronously: this process serves both daemons meanwhile. */
const ikelab = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

interface Peer {
  daemon: Daemon;
  control: ControlServer;
  sock: string;
}

// ports of their own: other test files may run peers on loopback at the same time
const PORT = 20_000 + (process.pid % 10_000) * 2;
const dir = mkdtempSync(join(tmpdir(), 'ikelab-outcome-'));
const peers = {} as Record<PeerName, Peer>;

async function startPeer(who: PeerName): Promise<Peer> {
  const sock = join(dir, `${who}.sock`);
  // short retransmits: `peer not responding` after 0.2 + 0.2 + 0.2 s
  const yaml = peerYaml(who, {}, { timeout: 0.2, base: 1, tries: 2 })
    .replace(`port: ${IKE_PORT}`, `port: ${PORT}`)
    .replace(`remote_port: ${IKE_PORT}`, `remote_port: ${PORT}`)
    .replace(`natt_port: ${NATT_PORT}`, `natt_port: ${PORT + 1}`)
    .replace(/control_socket: .*/, `control_socket: ${JSON.stringify(sock)}`);
  const log = new Logger({}, [new MemorySink()]);
  const daemon = new Daemon(parseConfig(yaml, `${who}.yaml`), { log });
  const control = new ControlServer(daemon, sock, { log });
  await control.start();
  await daemon.start();
  return { daemon, control, sock };
}

beforeAll(async () => {
  peers.A = await startPeer('A');
  peers.B = await startPeer('B');
});

afterAll(async () => {
  for (const p of Object.values(peers)) {
    await p.control.close();
    await p.daemon.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

describe('initiate, rekey, terminate wait for the result', () => {
  test('initiate: exit 0 once the CHILD_SA is installed, the log lines of that IKE_SA streamed meanwhile', async () => {
    const r = await ikelab('initiate', '--child', 'net', '--socket', peers.A.sock);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[IKE\] initiating IKE_SA demo\[\d+\] to 127\.0\.0\.2$/m);
    expect(r.stdout).toMatch(/^\[ENC\] generating IKE_SA_INIT request 0 \[ SA KE No /m);
    expect(r.stdout).toMatch(/^\[IKE\] CHILD_SA net\{\d+\} established with SPIs /m);
    expect(r.stdout).toMatch(/^initiate completed successfully: IKE_SA demo\[\d+\], CHILD_SA net\{\d+\}, \d+\.\d s$/m);
  });

  test('initiate of a CHILD_SA already installed: success at once; --json: one result object', async () => {
    const r = await ikelab('initiate', '--child', 'net', '--json', '--socket', peers.A.sock);
    expect(r.code, r.stderr).toBe(0);
    const o = json(r.stdout);
    expect(o).toMatchObject({ ok: true, ike: 'demo', child: 'net', notify: null, reason: null });
    // no exchange waited for: the daemon's own work only (a millisecond on a busy host)
    expect(o.elapsedMs).toBeLessThan(50);
    expect(Object.keys(o)).toEqual(['ok', 'ike', 'ikeId', 'child', 'childId', 'notify', 'reason', 'elapsedMs']);
    expect(o.ikeId).toEqual(expect.any(Number));
    expect(o.childId).toEqual(expect.any(Number));
  });

  test('rekey --child: exit 0 once replaced, childId the new CHILD_SA; --quiet prints only the result', async () => {
    const before = (await controlCall(peers.A.sock, 'list-sas')) as SaJson[];
    const old = before[0]!.children[0]!.uniqueId;
    const r = await ikelab('rekey', '--child', 'net', '--json', '--quiet', '--socket', peers.A.sock);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const o = json(r.stdout);
    expect(o).toMatchObject({ ok: true, child: 'net' });
    expect(o.childId).not.toBe(old);
  });

  test('terminate --child, then --ike: exit 0 once gone', async () => {
    const c = await ikelab('terminate', '--child', 'net', '--socket', peers.A.sock);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^\[IKE\] sending DELETE for ESP CHILD_SA with SPI [0-9a-f]{8}$/m);
    expect(c.stdout).toMatch(/^terminate completed successfully: IKE_SA demo\[\d+\], CHILD_SA net\{\d+\}/m);
    const sas = (await controlCall(peers.A.sock, 'list-sas')) as SaJson[];
    expect(sas[0]!.children).toEqual([]);
    const i = await ikelab('terminate', '--ike', 'demo', '--json', '--socket', peers.A.sock);
    expect(i.code, i.stderr).toBe(0);
    expect(json(i.stdout)).toMatchObject({ ok: true, ike: 'demo' });
    expect(await controlCall(peers.A.sock, 'list-sas')).toEqual([]);
  });

  test('wrong PSK: exit 1 naming AUTHENTICATION_FAILED', async () => {
    const r = await ikelab('initiate', '--child', 'net', '--psk', 'not-the-secret', '--socket', peers.A.sock);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ikelab: initiate failed: AUTHENTICATION_FAILED/m);
    const j = await ikelab('initiate', '--child', 'net', '--psk', 'not-the-secret', '--json', '--quiet', '--socket', peers.A.sock);
    expect(j.code).toBe(1);
    expect(json(j.stdout)).toMatchObject({ ok: false, ike: 'demo', child: 'net', notify: 'AUTHENTICATION_FAILED' });
  });

  test('ESP proposal mismatch: exit 1 naming NO_PROPOSAL_CHOSEN (the IKE_SA stays)', async () => {
    const r = await ikelab('initiate', '--child', 'net', '--esp-proposals', 'aes128gcm16', '--json', '--socket', peers.A.sock);
    expect(r.code).toBe(1);
    expect(json(r.stdout)).toMatchObject({ ok: false, child: 'net', notify: 'NO_PROPOSAL_CHOSEN' });
    // the log lines went to stderr, stdout holds the one object
    expect(r.stderr).toMatch(/^\[IKE\] received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built$/m);
    const text = await ikelab('initiate', '--child', 'net', '--esp-proposals', 'aes128gcm16', '--quiet', '--socket', peers.A.sock);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^ikelab: initiate failed: .*NO_PROPOSAL_CHOSEN/m);
    expect(await ikelab('terminate', '--ike', 'demo', '--quiet', '--socket', peers.A.sock)).toMatchObject({ code: 0 });
  });

  test('an unreachable peer: exit 1, peer not responding; --timeout shorter than that: exit 1, not established', async () => {
    expect((await controlCall(peers.B.sock, 'fault', { mode: 'silent' })) as unknown).toBeDefined();
    try {
      const r = await ikelab('initiate', '--child', 'net', '--json', '--socket', peers.A.sock);
      expect(r.code).toBe(1);
      expect(json(r.stdout)).toMatchObject({ ok: false, reason: 'peer not responding', notify: null });
      expect(r.stderr).toMatch(/^\[IKE\] retransmit 1 of request with message ID 0$/m);
      const text = await ikelab('initiate', '--child', 'net', '--quiet', '--socket', peers.A.sock);
      expect(text.stderr).toMatch(/^ikelab: initiate failed: peer not responding/m);
      const t = await ikelab('initiate', '--child', 'net', '--timeout', '0.1', '--quiet', '--json', '--socket', peers.A.sock);
      expect(t.code).toBe(1);
      expect(json(t.stdout).reason).toMatch(/^not established within 0\.1 s/);
    } finally {
      await controlCall(peers.B.sock, 'fault', { mode: 'normal' });
    }
  });

  test('a request the daemon refuses: exit 1 with its message (text and --json)', async () => {
    const r = await ikelab('terminate', '--ike', 'nope', '--socket', peers.A.sock);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr.trim()).toBe("ikelab: no IKE_SA named 'nope' found");
    const j = await ikelab('rekey', '--child', 'nosuch', '--json', '--socket', peers.A.sock);
    expect(j.code).toBe(1);
    expect(json(j.stdout)).toMatchObject({ ok: false, reason: "no installed CHILD_SA named 'nosuch' found" });
  });

  test('no daemon: exit 3', async () => {
    for (const verb of ['initiate', 'terminate', 'rekey']) {
      const r = await ikelab(verb, '--child', 'net', '--socket', join(dir, 'nobody.sock'));
      expect(r.code, verb).toBe(3);
      expect(r.stderr).toContain('no ikelab daemon is listening on');
    }
  });
});

describe('list-sas and list-conns', () => {
  test('list-sas --ike / --child filter; a name that is not configured is exit 1, not an empty success', async () => {
    expect((await ikelab('initiate', '--child', 'net', '--quiet', '--socket', peers.A.sock)).code).toBe(0);
    const all = json(`{"sas":${(await ikelab('list-sas', '--ike', 'demo', '--child', 'net', '--json', '--socket', peers.A.sock)).stdout}}`);
    expect(all.sas).toMatchObject([{ name: 'demo', children: [{ name: 'net' }] }]);
    const bad = await ikelab('list-sas', '--ike', 'nope', '--socket', peers.A.sock);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("ikelab: no connection or IKE_SA named 'nope' (configured: demo)");
    const badChild = await ikelab('list-sas', '--child', 'nope', '--json', '--socket', peers.A.sock);
    expect(badChild.code).toBe(1);
    expect(badChild.stderr).toContain("no child or CHILD_SA named 'nope' (configured: net)");
  });

  test('list-conns: the loaded connections and children (text and --json)', async () => {
    const t = await ikelab('list-conns', '--socket', peers.A.sock);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe('loaded from A.yaml\ndemo: children net\n');
    const j = await ikelab('list-conns', '--json', '--socket', peers.A.sock);
    expect(json(j.stdout)).toEqual({ file: 'A.yaml', connections: [{ name: 'demo', children: ['net'] }] });
  });

  test('list-sas --json of 1,000 SAs through a pipe parses in full', async () => {
    // the SAs are a fake list-sas verb's (the daemon's own shape, cheap to make): the point is the pipe
    const [real] = (await controlCall(peers.A.sock, 'list-sas')) as SaJson[];
    const many: SaJson[] = Array.from({ length: 1000 }, (_, i) => ({ ...real!, name: `conn${i + 1}`, uniqueId: i + 1 }));
    const r = await rig({ commands: commandTable([{ name: 'list-sas', run: () => many }]) });
    try {
      const reader =
        'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{const a=JSON.parse(s);console.log(a.length,a[999].name)})';
      // a slow reader: the CLI's writes outrun the pipe buffer and must still arrive whole
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn('/bin/sh', [
          '-c',
          `"$0" "$1" list-sas --json --socket "$2" | (sleep 0.3; "$0" -e '${reader}')`,
          process.execPath,
          cli,
          r.sock,
        ]);
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(out.stderr).toBe('');
      expect(out.stdout.trim()).toBe('1000 conn1000');
      expect(out.code).toBe(0);
    } finally {
      await r.done();
    }
  });
});
