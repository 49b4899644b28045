// Bad input never kills the daemon: with an SA established against strongSwan, a burst of truncated, random,
// wrong-length, oversized and forged datagrams hits both IKE ports; ikelab logs and drops them, the SA stays
// ESTABLISHED with the same SPIs, and the daemon still serves the peer afterwards (a DELETE from strongSwan).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const here = path.dirname(fileURLToPath(import.meta.url));

describe.skipIf(!RUN)('interop robustness: malformed datagrams', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  it('logs and drops every malformed datagram; the SA stays up and the daemon keeps serving', async () => {
    const swan = await lab.startCharon({ swanctlConf: swanctlConf({}), strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(ikelabYaml({ ikelabStart: 'start' }, lab.path('k', 'ikelab.sock')));
    await swan.waitFor((s) => established(s, 'bar', 'net'), 8000);
    const [before] = await ike.waitFor((s) => s.length === 1 && s[0].state === 'ESTABLISHED', 3000);

    const script = lab.path('s', 'fuzz-sender.mjs');
    fs.copyFileSync(path.join(here, 'fuzz-sender.mjs'), script);
    const r = await lab.execIn('s', [process.execPath, script, '10.98.0.2', before.spiI, before.spiR], 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(200);
    await new Promise((res) => setTimeout(res, 500));

    const [after] = await ike.listSas();
    expect(after.state).toBe('ESTABLISHED');
    expect(after.spiI).toBe(before.spiI);
    expect(after.children[0].spiIn).toBe(before.children[0].spiIn);
    expect(after.counters.integrityFailures).toBeGreaterThan(0);
    const stats = JSON.parse((await ike.cli(['stats'])).stdout);
    expect(stats.dispatcher.malformed).toBeGreaterThan(50);
    expect(stats.dispatcher.handlerErrors).toBe(0);
    expect(ike.log()).toContain('integrity check failed');
    expect(ike.log()).not.toMatch(/TypeError|RangeError|at .*\.js:\d+/);

    // still serving: strongSwan's DELETE is processed and answered
    expect((await swan.swanctl(['--terminate', '--ike', 'bar'])).code).toBe(0);
    await ike.waitFor((s) => s.length === 0, 3000);
    expect(swan.log()).toContain('IKE_SA deleted');
    expect(ike.running).toBe(true);
  });
});
