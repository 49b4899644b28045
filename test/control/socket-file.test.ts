// The control socket file: 0600 even under umask 000, and already 0600 when it appears (the explicit chmod after
// listen is watched: the mode it finds is the mode the socket was born with); the umask is put back; a missing
// directory, a non-socket in the way and a stale socket are handled.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { controlCall } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/timer-queue.js';
import { peerYaml } from '../helpers/peers.js';
import { until } from './helpers.js';

const seen = vi.hoisted(() => ({ modesAtChmod: [] as number[] }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const { statSync: st } = await import('node:fs');
  return {
    ...real,
    chmod: async (p: string, mode: number) => {
      seen.modesAtChmod.push(st(p).mode & 0o777);
      return real.chmod(p, mode);
    },
  };
});

let dir: string;
let daemon: Daemon;
let server: ControlServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-sockfile-'));
  daemon = new Daemon(parseConfig(peerYaml('A'), 'demo-a.yaml'), {
    log: new Logger({}, [new MemorySink()]),
    clock: new ManualClock(),
    sendIke: () => {},
  });
  seen.modesAtChmod.length = 0;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('control socket file', () => {
  test('under umask 000 the socket is 0600, was 0600 before the chmod, and the umask is restored', async () => {
    const old = process.umask(0);
    try {
      server = new ControlServer(daemon, join(dir, 'ctl.sock'));
      await server.start();
      expect(process.umask(0)).toBe(0); // what start() found is what it left
    } finally {
      process.umask(old);
    }
    const st = statSync(join(dir, 'ctl.sock'));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(seen.modesAtChmod).toEqual([0o600]);
    await expect(controlCall(join(dir, 'ctl.sock'), 'hello')).resolves.toBe('ikelab');
  });

  test('a missing directory: a clear error, not EACCES/ENOENT from bind', async () => {
    const path = join(dir, 'no-such-dir', 'ctl.sock');
    server = new ControlServer(daemon, path);
    await expect(server.start()).rejects.toThrow(
      `the directory of control socket ${path} does not exist: create ${join(dir, 'no-such-dir')} or set daemon.control_socket`,
    );
    const file = join(dir, 'file');
    writeFileSync(file, '');
    await expect(new ControlServer(daemon, join(file, 'ctl.sock')).start()).rejects.toThrow(/is not a directory/);
  });

  test('something that is not a socket at the path is left alone and refused', async () => {
    const path = join(dir, 'ctl.sock');
    writeFileSync(path, 'precious');
    server = new ControlServer(daemon, path);
    await expect(server.start()).rejects.toThrow(`control socket path ${path} exists and is not a socket; not removing it`);
    expect(readFileSync(path, 'utf8')).toBe('precious');
    await server.close(); // never listened: must not remove the file either
    expect(existsSync(path)).toBe(true);
  });

  test('a stale socket from a killed daemon is replaced', async () => {
    const path = join(dir, 'ctl.sock');
    // a process we start binds the path and is SIGKILLed by itself: the socket file stays, nobody listens
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((res) => child.on('exit', res));
    expect(lstatSync(path).isSocket()).toBe(true);
    server = new ControlServer(daemon, path);
    await server.start();
    await expect(controlCall(path, 'hello')).resolves.toBe('ikelab');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await server.close();
    server = undefined;
    expect(await until(() => !existsSync(path))).toBe(true);
  });
});
