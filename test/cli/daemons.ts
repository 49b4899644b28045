// Shared by the CLI tests that run dist/cli.js as a user does: two ikelab daemons in this process on loopback (real
// UDP, real timers; 127.0.0.1 initiates to 127.0.0.2), each behind a control socket in a temp dir, each logging
// to a MemorySink at the levels the test asks (the daemon's charon sink levels), and the CLI run asynchronously
// so this process serves both daemons meanwhile.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { IKE_PORT, NATT_PORT, type PeerName, type PeerOptions, peerYaml } from '../helpers/peers.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `ikelab ARGS...` as a child process; code -1 when it did not exit by itself. */
export const ikelab = (...args: string[]): Promise<CliRun> =>
  new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

export interface CliPeer {
  /** Its config file (the daemon was started from this text). */
  file: string;
  daemon: Daemon;
  control: ControlServer;
  sock: string;
  log: Logger;
  sink: MemorySink;
}

export interface CliPeers {
  A: CliPeer;
  B: CliPeer;
  dir: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  a?: PeerOptions;
  b?: PeerOptions;
  /** The daemons' sink levels; default { default: 1 }. */
  levels?: Record<string, number>;
}

/**
 * Peers A and B on `port` (IKE) and port + 1 (NAT-T), short retransmits (`peer not responding` after 0.6 s),
 * the daemons' sinks at `levels`.
 */
export async function startPeers(port: number, o: StartOptions = {}): Promise<CliPeers> {
  const dir = mkdtempSync(join(tmpdir(), 'ikelab-cli-'));
  const levels = o.levels ?? { default: 1 };
  const start = async (who: PeerName): Promise<CliPeer> => {
    const sock = join(dir, `${who}.sock`);
    const yaml = peerYaml(who, (who === 'A' ? o.a : o.b) ?? {}, { timeout: 0.2, base: 1, tries: 2 }, levels)
      .replace(`port: ${IKE_PORT}`, `port: ${port}`)
      .replace(`remote_port: ${IKE_PORT}`, `remote_port: ${port}`)
      .replace(`natt_port: ${NATT_PORT}`, `natt_port: ${port + 1}`)
      .replace(/control_socket: .*/, `control_socket: ${JSON.stringify(sock)}`);
    const file = join(dir, `${who}.yaml`);
    writeFileSync(file, yaml, { mode: 0o600 });
    const sink = new MemorySink();
    const log = new Logger(levels, [sink]);
    const daemon = new Daemon(parseConfig(yaml, file), { log });
    const control = new ControlServer(daemon, sock, { log });
    await control.start();
    await daemon.start();
    return { file, daemon, control, sock, log, sink };
  };
  const A = await start('A');
  const B = await start('B');
  return {
    A,
    B,
    dir,
    async stop() {
      for (const p of [A, B]) {
        await p.control.close();
        await p.daemon.stop();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until check() holds (or fails the test after ms). */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
