// Shared by the control socket tests: a Daemon with no network behind a ControlServer in a temp dir, and a raw
// client that records every line and when the daemon closed the connection.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ControlServer, type ControlServerOptions } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/timer-queue.js';
import { peerYaml } from '../helpers/peers.js';

export interface Rig {
  dir: string;
  sock: string;
  daemon: Daemon;
  server: ControlServer;
  sink: MemorySink;
  done(): Promise<void>;
}

/** A started ControlServer with the given limits; done() stops it and removes the temp dir. */
export async function rig(opts: ControlServerOptions = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'ikelab-ctl-hard-'));
  const sock = join(dir, 'ctl.sock');
  const sink = new MemorySink();
  const log = new Logger({}, [sink]);
  const daemon = new Daemon(parseConfig(peerYaml('A'), 'demo-a.yaml'), { log, clock: new ManualClock(), sendIke: () => {} });
  const server = new ControlServer(daemon, sock, { log, ...opts });
  await server.start();
  return {
    dir,
    sock,
    daemon,
    server,
    sink,
    async done() {
      await server.close();
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawClient {
  sock: net.Socket;
  lines: string[];
  /** Resolves when the daemon closed the connection (or it failed), with the ms since connect. */
  closed: Promise<number>;
  /** Resolves with the n-th line (1-based) once it arrived. */
  line(n: number): Promise<string>;
}

/** Connected raw client; reading can be turned off (a client that never reads its replies). */
export function connect(path: string, read = true): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    const t0 = Date.now();
    let buf = '';
    const closed = new Promise<number>((res) => sock.on('close', () => res(Date.now() - t0)));
    sock.on('error', () => {
      /* closed reports it */
    });
    if (read) {
      sock.on('data', (d) => {
        buf += d.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
        waiters.splice(0).forEach((w) => w());
      });
    } else sock.pause();
    const line = (n: number) =>
      new Promise<string>((res, rej) => {
        const check = () => {
          if (lines.length >= n) return res(lines[n - 1]!);
          waiters.push(check);
        };
        void closed.then(() =>
          setTimeout(() => (lines.length >= n ? res(lines[n - 1]!) : rej(new Error(`closed after ${lines.length} lines`))), 20),
        );
        check();
      });
    sock.once('connect', () => resolve({ sock, lines, closed, line }));
    sock.once('error', reject);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls cond every 10 ms; false when it did not become true within ms. */
export async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}
