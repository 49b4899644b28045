// `ikelab demo` (README's first command): two ikelab peers in one process on 127.0.0.1 and 127.0.0.2
// (unprivileged ports, no root), using the built-in configs config/demo-a.yaml and config/demo-b.yaml.
// Peer A initiates; both log charon-style with a syslog prefix naming the peer; the tunnel comes up, A pings
// B's virtual host through it, both list their SAs, A terminates; the demo exits 0 only if every step happened.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadConfig } from './config/load.js';
import { formatSasText } from './control/sa-json.js';
import { createLogger } from './log/setup.js';
import { runDaemon, type Running } from './run-daemon.js';

const configDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'config');

async function waitFor(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(file: string, host: string, socketDir: string): Promise<Running> {
  const loaded = loadConfig(join(configDir, file));
  // the demo configs name no control socket: each peer gets its own in this run's temp dir
  const cfg = { ...loaded, daemon: { ...loaded.daemon, controlSocket: join(socketDir, `${host}.sock`) } };
  return runDaemon(cfg, createLogger({ ...cfg.daemon.log, syslogPrefix: true, hostname: host }));
}

export async function runDemo(): Promise<number> {
  const socketDir = mkdtempSync(join(tmpdir(), 'ikelab-demo-'));
  try {
    return await demoIn(socketDir);
  } finally {
    rmSync(socketDir, { recursive: true, force: true });
  }
}

async function demoIn(socketDir: string): Promise<number> {
  const b = await start('demo-b.yaml', 'peer-b', socketDir);
  const a = await start('demo-a.yaml', 'peer-a', socketDir);
  const up = (r: Running) =>
    r.daemon.ops.listSas().some((s) => s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED'));
  try {
    await waitFor('the tunnel to come up on both peers', () => up(a) && up(b));
    console.log(`\n--- peer-a list-sas ---\n${formatSasText(a.daemon.ops.listSas())}`);
    const ping = await a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 3, intervalMs: 100, timeoutMs: 2000 });
    console.log(
      `\n--- peer-a: ping 10.202.0.1 (peer-b's virtual host) through CHILD_SA net: ${ping.sent} sent, ${ping.received} received, rtt ${ping.rttsMs.map((t) => t.toFixed(2)).join('/')} ms ---`,
    );
    if (ping.received !== ping.sent) throw new Error('pings through the tunnel were lost');
    console.log(`--- peer-b list-sas ---\n${formatSasText(b.daemon.ops.listSas())}\n`);
    a.daemon.ops.terminate('demo');
    await waitFor(
      'the IKE_SA to be deleted on both peers',
      () => a.daemon.ops.listSas().length === 0 && b.daemon.ops.listSas().length === 0,
    );
    console.log('\ndemo: tunnel established and deleted on both peers');
    return 0;
  } catch (e) {
    console.error(`demo failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await a.stop();
    await b.stop();
  }
}
