// Self-test of the interop harness: strongSwan on BOTH sides (no ikelab involved), establish-psk scenario.
// Proves namespaces, veth, kernel-libipsec, vici, list-sas parsing, traffic, teardown and logdiff work here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, Lab, REFERENCE_LOGS_DIR, established, logdiff, requireInterop } from '../helpers/lab.js';

const RUN = requireInterop();
const REF = path.join(REFERENCE_LOGS_DIR, 'establish-psk');

describe.skipIf(!RUN)('interop lab self-test: strongSwan <-> strongSwan (establish-psk)', () => {
  let lab: Lab | undefined;

  beforeAll(async () => {
    const t0 = Date.now();
    lab = await Lab.create();
    if (process.env.IKELAB_LAB_TIMINGS) process.stderr.write(`[timing] Lab.create ${Date.now() - t0} ms\n`);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('establishes, carries traffic, terminates, and the initiator log matches the reference', async () => {
    const L = lab!;
    const T: Record<string, number> = {};
    let t = Date.now();
    const lap = (k: string) => {
      const now = Date.now();
      T[k] = now - t;
      t = now;
    };

    // responder: strongSwan in s (10.98.0.1, protects 10.11.0.0/24); initiator: strongSwan in k (10.98.0.2, 10.12.0.0/24)
    const [resp, init] = await Promise.all([
      L.startCharon({
        swanctlConf: fs.readFileSync(path.join(REF, 'responder.swanctl.conf'), 'utf8'),
        strongswanConfExtra: FAST_RETRANSMIT,
      }),
      L.startCharonIn('k', {
        swanctlConf: fs.readFileSync(path.join(REF, 'initiator.swanctl.conf'), 'utf8'),
        strongswanConfExtra: FAST_RETRANSMIT,
      }),
    ]);
    lap('charonStart');
    expect(resp.pid).toBeGreaterThan(0);
    expect(init.pid).not.toBe(resp.pid);

    const r = await init.swanctl(['--initiate', '--child', 'net']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [sasI, sasR] = await Promise.all([
      init.waitFor((s) => established(s, 'bar', 'net'), 5000),
      resp.waitFor((s) => established(s, 'bar', 'net'), 5000),
    ]);
    lap('establish');

    const ikeI = sasI.find((s) => s.name === 'bar')!;
    const ikeR = sasR.find((s) => s.name === 'bar')!;
    expect(ikeI.initiator).toBe(true);
    expect(ikeR.initiator).toBe(false);
    expect(ikeI.spiI).toMatch(/^[0-9a-f]{16}$/);
    expect(ikeI.spiI).toBe(ikeR.spiI);
    expect(ikeI.spiR).toBe(ikeR.spiR);
    expect(ikeI.localHost).toBe('10.98.0.2');
    expect(ikeR.localHost).toBe('10.98.0.1');
    expect(ikeI.dhGroup).toBe('MODP_2048');
    const chI = ikeI.children[0]!;
    const chR = ikeR.children[0]!;
    expect(chI.name).toBe('net');
    expect(chI.spiIn).toBe(chR.spiOut);
    expect(chI.spiOut).toBe(chR.spiIn);
    expect(chI.localTs).toEqual(['10.12.0.0/24']);
    expect(chI.remoteTs).toEqual(['10.11.0.0/24']);
    expect(chR.localTs).toEqual(['10.11.0.0/24']);
    expect(chR.encrAlg).toBe('AES_CBC');
    expect(chR.encrKeysize).toBe(256);
    expect(chR.encap).toBe(true); // kernel-libipsec forces UDP encapsulation

    const ping = await L.execIn('s', ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.11.0.1', '10.12.0.1'], 8000);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/2 received/);
    lap('ping');

    const afterPing = await resp.listSas();
    expect(afterPing[0]!.children[0]!.packetsIn).toBeGreaterThanOrEqual(2);

    const term = await init.swanctl(['--terminate', '--ike', 'bar']);
    expect(term.code, term.stdout + term.stderr).toBe(0);
    await Promise.all([init.waitFor((s) => s.length === 0, 5000), resp.waitFor((s) => s.length === 0, 5000)]);
    lap('terminate');

    await Promise.all([init.stop(), resp.stop()]);
    lap('stop');
    expect(init.running).toBe(false);

    const d = logdiff(path.join(REF, 'initiator.log'), init.logPath);
    expect(d.score, `missing:\n${d.missing.join('\n')}`).toBeGreaterThanOrEqual(0.9);
    const dr = logdiff(path.join(REF, 'responder.log'), resp.logPath);
    expect(dr.score, `missing:\n${dr.missing.join('\n')}`).toBeGreaterThanOrEqual(0.9);
    // a clearly different log scores low (the tool really compares)
    expect(logdiff(path.join(REF, 'initiator.log'), resp.logPath).score).toBeLessThan(0.9);

    if (process.env.IKELAB_LAB_TIMINGS) {
      process.stderr.write(
        `[timing] charon start-up s=${resp.startupMs} ms k=${init.startupMs} ms; phases ${JSON.stringify(T)}; logdiff init=${d.score.toFixed(2)} resp=${dr.score.toFixed(2)}\n`,
      );
    }
  });

  it('destroy() removes namespaces and the lab dir, and is idempotent', async () => {
    const L = lab!;
    const ch = await L.startCharon({ swanctlConf: 'connections {}\n' }); // second charon start in s: charon.2.log
    expect(ch.logPath).toMatch(/charon\.2\.log$/);
    await L.destroy();
    await L.destroy();
    expect(ch.running).toBe(false);
    const list = await import('node:child_process').then((cp) => cp.execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }));
    expect(list).not.toContain(L.ns.s);
    expect(list).not.toContain(L.ns.k);
    if (process.env.IKELAB_KEEP_LAB !== '1') expect(fs.existsSync(L.dir)).toBe(false);
  });
});
