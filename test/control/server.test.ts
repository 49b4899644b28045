// ControlServer.handle: every bad request gets a clear error reply (never a throw); the happy paths return what the
// CLI prints. A Daemon with sendIke (no UDP) stands behind it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { ControlReply } from '../../src/control/protocol.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/timer-queue.js';
import { peerYaml } from '../helpers/peers.js';

let dir: string;
let daemon: Daemon;
let server: ControlServer;
let sent: Buffer[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-ctl-test-'));
  sent = [];
  daemon = new Daemon(parseConfig(peerYaml('A'), 'demo-a.yaml'), {
    log: new Logger({}, [new MemorySink()]),
    clock: new ManualClock(),
    sendIke: (d) => sent.push(d),
  });
  server = new ControlServer(daemon, join(dir, 'ctl.sock'));
});
afterEach(async () => {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

// handle() may answer synchronously or with a promise (commands such as an ESP ping are asynchronous)
const call = async (req: unknown): Promise<ControlReply> => server.handle(typeof req === 'string' ? req : JSON.stringify(req));

describe('ControlServer.handle', () => {
  test('list-sas with no SAs, the request id echoed', async () => {
    expect(await call({ id: 7, cmd: 'list-sas', args: {} })).toEqual({ id: 7, ok: true, result: [] });
  });

  test('unknown command', async () => {
    expect(await call({ id: 1, cmd: 'reboot', args: {} })).toEqual({ id: 1, ok: false, error: "unknown command 'reboot'" });
    expect(await call({ id: 2 })).toEqual({ id: 2, ok: false, error: "unknown command 'undefined'" });
  });

  test('bad JSON', async () => {
    expect(await call('{"id": 1, "cmd": ')).toEqual({ id: 0, ok: false, error: 'request is not valid JSON' });
    expect(await call('')).toEqual({ id: 0, ok: false, error: 'request is not valid JSON' });
  });

  test('a non-numeric id is answered with id 0; missing args are fine', async () => {
    expect(await call({ id: 'x', cmd: 'list-sas' })).toEqual({ id: 0, ok: true, result: [] });
  });

  test('unknown connection and child names', async () => {
    expect(await call({ id: 1, cmd: 'initiate', args: { ike: 'nope' } })).toEqual({
      id: 1,
      ok: false,
      error: "no connection named 'nope' (configured: demo)",
    });
    expect(await call({ id: 2, cmd: 'initiate', args: { child: 'nope' } })).toEqual({
      id: 2,
      ok: false,
      error: "no child named 'nope' in any connection",
    });
    expect(await call({ id: 3, cmd: 'initiate', args: { ike: 'demo', child: 'nope' } })).toEqual({
      id: 3,
      ok: false,
      error: "connection 'demo' has no child 'nope'",
    });
    expect(await call({ id: 4, cmd: 'initiate', args: {} })).toEqual({
      id: 4,
      ok: false,
      error: 'initiate needs --child NAME or --ike NAME',
    });
    expect(await call({ id: 5, cmd: 'terminate', args: { ike: 'nope' } })).toEqual({
      id: 5,
      ok: false,
      error: "no IKE_SA named 'nope' found",
    });
    expect(await call({ id: 6, cmd: 'terminate', args: { child: 'nope' } })).toEqual({
      id: 6,
      ok: false,
      error: "no CHILD_SA named 'nope' found",
    });
    expect(await call({ id: 7, cmd: 'terminate', args: {} })).toEqual({
      id: 7,
      ok: false,
      error: 'terminate needs --ike NAME or --child NAME',
    });
    expect(await call({ id: 8, cmd: 'rekey', args: { child: 'net' } })).toEqual({
      id: 8,
      ok: false,
      error: "no installed CHILD_SA named 'net' found",
    });
    expect(await call({ id: 9, cmd: 'fault', args: { mode: 'loud' } })).toEqual({
      id: 9,
      ok: false,
      error: expect.stringMatching(/^fault needs --mode silent\|(.+\|)?normal$/),
    });
    expect(await call({ id: 10, cmd: 'fault', args: { mode: 'silent', ike: 'nope' } })).toEqual({
      id: 10,
      ok: false,
      error: "no connection named 'nope' (configured: demo)",
    });
    // only strings count as names
    expect(await call({ id: 11, cmd: 'initiate', args: { ike: 42 } })).toEqual({
      id: 11,
      ok: false,
      error: 'initiate needs --child NAME or --ike NAME',
    });
    expect(sent).toEqual([]);
  });

  test('load of a missing or bad file names the file', async () => {
    const r1 = await call({ id: 1, cmd: 'load', args: { config: join(dir, 'missing.yaml') } });
    expect(r1.ok).toBe(false);
    expect(!r1.ok && r1.error).toContain(join(dir, 'missing.yaml'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, peerYaml('A').replace('esp_proposals: [aes256gcm16]', 'esp_proposals: [bogus]'));
    const r2 = await call({ id: 2, cmd: 'load', args: { config: bad } });
    expect(!r2.ok && r2.error).toMatch(
      new RegExp(
        `^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: connections\\.demo\\.children\\.net\\.esp_proposals\\[0\\]: expected a strongSwan ESP proposal`,
      ),
    );
    // the running config is unchanged
    expect(daemon.config.file).toBe('demo-a.yaml');
  });

  test('initiate, list-sas, stats, terminate', async () => {
    expect(await call({ id: 1, cmd: 'initiate', args: { child: 'net' } })).toEqual({
      id: 1,
      ok: true,
      result: { ike: 'demo', uniqueId: 1, state: 'CONNECTING' },
    });
    expect(sent).toHaveLength(1);
    const ls = await call({ id: 2, cmd: 'list-sas', args: {} });
    expect(ls.ok && ls.result).toEqual([expect.objectContaining({ name: 'demo', state: 'CONNECTING', initiator: true })]);
    const st = await call({ id: 3, cmd: 'stats', args: {} });
    expect(st.ok && st.result).toMatchObject({ sas: 1, dispatcher: { received: 0 } });
    expect(await call({ id: 4, cmd: 'terminate', args: { ike: 'demo' } })).toEqual({ id: 4, ok: true, result: { terminated: 1 } });
    expect(await call({ id: 5, cmd: 'list-sas', args: {} })).toEqual({ id: 5, ok: true, result: [] });
  });

  test('fault silent / normal', async () => {
    expect(await call({ id: 1, cmd: 'fault', args: { mode: 'silent', ike: 'demo' } })).toEqual({
      id: 1,
      ok: true,
      result: { fault: 'silent for demo' },
    });
    expect(daemon.faults.list().map((r) => r.text)).toEqual(['--match ike=demo,dir=in --action drop']);
    expect(await call({ id: 2, cmd: 'fault', args: { mode: 'normal' } })).toEqual({ id: 2, ok: true, result: { fault: 'normal' } });
    expect(daemon.faults.list()).toEqual([]);
  });
});
