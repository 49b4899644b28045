// `ikelab load-status [--id N] [--json]`: a load run's progress while it goes, its summary once done, read by a CLI
// other than the one that started it (the daemon keeps finished runs). The daemon here has no network and a manual
// clock: its initiations go nowhere until the test lets the run's time run out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { controlCall } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import type { LoadStatus } from '../../src/ops/load-run.js';
import { ManualClock } from '../../src/util/timer-queue.js';
import { peerYaml } from '../helpers/peers.js';
import { ikelab } from './daemons.js';

vi.setConfig({ testTimeout: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'ikelab-load-status-'));
const sock = join(dir, 'ctl.sock');
const clock = new ManualClock();
let daemon: Daemon;
let server: ControlServer;

beforeAll(async () => {
  const log = new Logger({}, [new MemorySink()]);
  daemon = new Daemon(parseConfig(peerYaml('A'), 'a.yaml'), { log, clock, sendIke: () => {} });
  server = new ControlServer(daemon, sock, { log });
  await server.start();
});
afterAll(async () => {
  await server.close();
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ikelab load-status', () => {
  test('no run yet: exit 1 saying so', async () => {
    const r = await ikelab('load-status', '--socket', sock);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('ikelab: no load run yet (initiate --count N starts one)');
  });

  test('a run in progress: its progress line (text) or status (--json), exit 0', async () => {
    const started = (await controlCall(sock, 'initiate', { ike: 'demo', count: '3', timeout: '60' })) as { run: number };
    expect(started.run).toBe(1);
    // the run's initiations are timers due now: let them fire
    clock.advance(1);
    const t = await ikelab('load-status', '--socket', sock);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^load run 1 running: demo: 0\/3 established, 0 failed, 3 in flight, 0\/s, 0\.0 s$/m);
    const j = await ikelab('load-status', '--id', '1', '--json', '--socket', sock);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, id: 1, ike: 'demo', count: 3, started: 3, inFlight: 3, done: false });
  });

  test('once done: the summary, also from a later CLI (the daemon kept the run)', async () => {
    // the run's time runs out: what is not established by then failed
    clock.advance(61_000);
    const s = (await controlCall(sock, 'load-status', {})) as LoadStatus;
    expect(s).toMatchObject({ done: true, established: 0 });
    const t = await ikelab('load-status', '--socket', sock);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^load run 1 of demo: 0 of 3 established, 3 failed in \d+\.\d s \(0 established\/s\)$/m);
    expect(t.stdout).toMatch(/^ {2}failed: .+ 3$/m);
    const j = await ikelab('load-status', '--json', '--socket', sock);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, id: 1, done: true, failed: 3 });
  });

  test('an unknown run: exit 1 naming the kept ones; a bad --id: exit 2', async () => {
    const r = await ikelab('load-status', '--id', '7', '--socket', sock);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('ikelab: no load run 7 (kept: 1)');
    for (const bad of ['0', 'x', '1.5']) {
      const u = await ikelab('load-status', '--id', bad, '--socket', sock);
      expect(u.code, bad).toBe(2);
      expect(u.stderr, bad).toContain(`invalid --id '${bad}'`);
    }
    expect((await ikelab('load-status', '--socket', join(dir, 'nobody.sock'))).code).toBe(3);
  });
});
