// ikelab shut down like charon: SIGTERM with an IKE_SA up against a real strongSwan sends DELETE for it, so the
// peer removes the SA at once instead of waiting for DPD; the process waits (bounded) for the answer and exits 0.
// ikelab is spawned here rather than through lab.startIkelab so the test holds its exit code.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { established, FAST_RETRANSMIT, IKELAB_CLI, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf, type Scenario } from '../helpers/scenario.js';

const RUN = requireInterop();

describe.skipIf(!RUN)('interop: ikelab shutdown against strongSwan', () => {
  let lab: Lab;
  let ikelab: ChildProcess | undefined;

  useLab((l) => {
    lab = l;
  });

  afterEach(() => {
    if (ikelab && ikelab.exitCode === null && ikelab.signalCode === null) ikelab.kill('SIGKILL');
    ikelab = undefined;
  });

  it('SIGTERM: DELETE for the established IKE_SA, strongSwan receives it, ikelab exits 0 within the bound', async () => {
    const s: Scenario = { ikeProposals: 'aes256-sha256-modp2048', espProposals: 'aes256-sha256', ikelabStart: 'start' };
    const swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    const file = lab.path('k', 'shutdown.yaml');
    fs.writeFileSync(file, ikelabYaml(s, lab.path('k', 'ikelab.sock')), { mode: 0o600 });
    // `ip netns exec` execs the command: the PID is ikelab's own, and so is the exit code
    const child = spawn('ip', ['netns', 'exec', lab.ns.k, process.execPath, IKELAB_CLI, 'start', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ikelab = child;
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await swan.waitFor((sas) => established(sas, 'bar', 'net'), 10_000);
    expect(stdout).toMatch(/00\[DMN\] Starting ikelab IKEv2 daemon \(ikelab /);
    expect(stdout).toContain("00[CFG] loaded connection 'bar'");

    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await exited;
    const took = Date.now() - t0;
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stderr).toBe('');
    // answered at once on a direct link: well inside the 2 s bound
    expect(took).toBeLessThan(2000);
    expect(stdout).toMatch(/SIGTERM received, shutting down/);
    expect(stdout).toMatch(/sending DELETE for IKE_SA bar\[1\]/);
    expect(stdout).not.toMatch(/did not answer the DELETE/);

    // strongSwan got the DELETE (not a DPD timeout) and has no SA left
    await swan.waitFor((sas) => !sas.some((sa) => sa.name === 'bar'), 5000);
    expect(swan.log()).toMatch(/\[IKE\] received DELETE for IKE_SA bar\[\d+\]/);
  });
});
