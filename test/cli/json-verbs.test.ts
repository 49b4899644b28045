// `--json` on every verb that prints data: walks the CLI's own verb tables (helpEntries, what --help prints), so a
// verb added without --json (or without a reason in noJson, for the few that print no data) fails here. Each one
// runs as a user runs it, against two daemons on loopback with the userspace ESP engine, and its stdout must parse
// as JSON (the one result object, or one object per line for watch's stream).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { helpEntries } from '../../src/cli/help.js';
import { controlCall } from '../../src/control/client.js';
import { REFERENCE_LOGS_DIR } from '../helpers/fixtures.js';
import { CLI, type CliPeers, ikelab, startPeers } from './daemons.js';

// ~25 node processes, seconds each on a busy CI host
vi.setConfig({ testTimeout: 300_000 });

let p: CliPeers;
beforeAll(async () => {
  p = await startPeers(44_000 + (process.pid % 1000) * 2, {
    a: { ipsecBackend: 'userspace', hostAddrs: ['10.201.0.1'] },
    b: { ipsecBackend: 'userspace', hostAddrs: ['10.202.0.1'] },
  });
});
afterAll(async () => {
  await p?.stop();
});

/** The verbs' --json runs, in an order that gives each something to print (initiate before rekey, ...). */
function samples(): Record<string, string[][]> {
  const sock = ['--socket', p.A.sock];
  const ref = join(REFERENCE_LOGS_DIR, 'establish-psk', 'initiator.log');
  const summary = join(p.dir, 'load-summary.json');
  const scenario = join(p.dir, 'tiny.yaml');
  writeFileSync(scenario, 'description: the tunnel comes up\nsteps:\n  - initiate: { child: net }\n');
  return {
    initiate: [
      ['initiate', '--child', 'net', '--json', ...sock],
      ['initiate', '--ike', 'demo', '--count', '2', '--json', '--quiet', ...sock],
    ],
    rekey: [['rekey', '--child', 'net', '--json', ...sock]],
    dpd: [['dpd', '--all', '--json', '--quiet', ...sock]],
    'list-sas': [['list-sas', '--json', ...sock]],
    'list-conns': [['list-conns', '--json', ...sock]],
    'load-status': [['load-status', '--json', ...sock]],
    load: [['load', '--config', p.A.file, '--json', ...sock]],
    stats: [['stats', '--json', ...sock]],
    ping: [['ping', '--child', 'net', '--dst', '10.202.0.1', '--count', '1', '--json', ...sock]],
    'ipsec-sa': [['ipsec-sa', '--json', ...sock]],
    fault: [
      ['fault', 'add', 'j1', '--match', 'exchange=INFORMATIONAL,dir=in', '--action', 'drop', '--count', '1', '--json', ...sock],
      ['fault', 'impair', 'drop-incoming:1', '--json', ...sock],
      ['fault', 'list', '--json', ...sock],
      ['fault', 'clear', '--json', ...sock],
      ['fault', '--mode', 'normal', '--json', ...sock],
    ],
    'load-merge': [['load-merge', summary, '--json']],
    'scenario list': [['scenario', 'list', '--json']],
    'scenario run': [
      ['scenario', 'run', scenario, '--json', ...sock],
      ['scenario', 'run', scenario, '--repeat', '2', '--json', ...sock],
    ],
    'log-compare': [['log-compare', ref, ref, '--json']],
    terminate: [['terminate', '--ike', 'demo', '--json', ...sock]],
  };
}

/** `ikelab watch --json`: the first line it prints once an event happens, then it is stopped (by its pid). */
function firstWatchLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'watch', '--json', '--socket', p.A.sock]);
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`watch printed nothing: ${err}`));
    }, 30_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.kill();
      resolve(out.slice(0, nl));
    });
    // once it subscribed (the daemon has a watcher), make an event: a fault rule added and cleared
    const poke = setInterval(() => {
      void controlCall(p.A.sock, 'fault', { op: 'add', name: 'poke', action: 'drop', match: 'exchange=INFORMATIONAL', count: '1' })
        .then(() => controlCall(p.A.sock, 'fault', { op: 'clear', name: 'poke' }))
        .catch(() => {});
    }, 300);
    child.on('exit', () => clearInterval(poke));
  });
}

describe('--json on every verb that prints data', () => {
  test('every verb of the tables either takes --json or says why it prints no data', async () => {
    const entries = await helpEntries();
    expect(entries.length).toBeGreaterThanOrEqual(18);
    for (const { entry } of entries) {
      const json = entry.flags.find((f) => f.name === 'json');
      if (entry.noJson !== undefined) {
        expect(entry.noJson.trim(), entry.name).not.toBe('');
        expect(json, `${entry.name} has --json but says it prints no data`).toBeUndefined();
      } else {
        expect(json, `${entry.name} prints data: it needs --json`).toMatchObject({ type: 'boolean' });
        expect(json!.help.trim(), entry.name).not.toBe('');
      }
    }
    // what prints no data: the daemon, the demo's narration, YAML files
    expect(entries.filter((e) => e.entry.noJson !== undefined).map((e) => e.entry.name)).toEqual(
      expect.arrayContaining(['start', 'demo', 'convert', 'scenario show']),
    );
  });

  test('each one prints parseable JSON on stdout (run against the daemons)', async () => {
    const entries = await helpEntries();
    const runs = samples();
    const verbs = entries.filter((e) => e.entry.noJson === undefined).map((e) => e.entry.name);
    const missing = verbs.filter((v) => v !== 'watch' && !runs[v]);
    expect(missing, 'a --json run for these verbs (add one to samples())').toEqual([]);
    for (const [verb, list] of Object.entries(runs)) {
      expect(verbs, `samples() has '${verb}', which the tables do not list`).toContain(verb);
      for (const args of list) {
        const r = await ikelab(...args);
        const what = `ikelab ${args.join(' ')} (exit ${r.code}): ${r.stderr}`;
        // data verbs may report a failed operation (exit 1) in their JSON; never a usage error or a crash
        expect([0, 1], what).toContain(r.code);
        expect(r.stdout.trim(), what).not.toBe('');
        expect(() => JSON.parse(r.stdout), what).not.toThrow();
        if (args[0] === 'initiate' && args.includes('--count')) writeFileSync(join(p.dir, 'load-summary.json'), r.stdout);
      }
    }
    const w = JSON.parse(await firstWatchLine()) as Record<string, unknown>;
    expect(w.event).toMatch(/^fault\./);
  });

  test('the data the text views show: ipsec-sa --json has the flows (counters, SPIs), as list-sas does', async () => {
    // one IKE_SA with one CHILD_SA (whatever an earlier case left)
    if (p.A.daemon.ops.listSas().length) await ikelab('terminate', '--ike', 'demo', '--quiet', '--socket', p.A.sock);
    const up = await ikelab('initiate', '--child', 'net', '--json', '--socket', p.A.sock);
    expect(up.code, up.stderr).toBe(0);
    const ping = await ikelab('ping', '--child', 'net', '--dst', '10.202.0.1', '--count', '2', '--json', '--socket', p.A.sock);
    expect(JSON.parse(ping.stdout)).toMatchObject({ sent: 2, received: 2 });
    const flows = JSON.parse((await ikelab('ipsec-sa', '--json', '--socket', p.A.sock)).stdout) as {
      counters: { packetsOut: number; packetsIn: number };
    }[];
    const sas = JSON.parse((await ikelab('list-sas', '--json', '--socket', p.A.sock)).stdout) as {
      children: { name: string; spiIn: string; spiOut: string }[];
    }[];
    const child = sas[0]!.children[0]!;
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({
      connection: 'demo',
      child: 'net',
      localAddress: '127.0.0.1',
      remoteAddress: '127.0.0.2',
      currentOutboundSpi: child.spiOut,
      inbound: [expect.objectContaining({ spi: child.spiIn, transform: 'esp-gcm 256' })],
      outbound: [expect.objectContaining({ spi: child.spiOut, active: true })],
    });
    // a flow's counters survive rekeys and re-creations of that child (IOS): at least this run's two pings
    const { packetsOut, packetsIn } = flows[0]!.counters;
    expect(packetsOut).toBeGreaterThanOrEqual(2);
    expect(packetsIn).toBe(packetsOut);
    // and the text view says the same
    const text = (await ikelab('ipsec-sa', '--socket', p.A.sock)).stdout;
    expect(text).toContain(`current outbound spi: 0x${child.spiOut.toUpperCase()}(${Number.parseInt(child.spiOut, 16)})`);
    expect(text).toContain(`#pkts encaps: ${packetsOut}, #pkts encrypt: ${packetsOut}, #pkts digest: ${packetsOut}`);
  });
});
