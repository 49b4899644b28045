// Dead peer detection against a real strongSwan: strongSwan frozen with SIGSTOP -> ikelab sends DPD requests,
// retransmits on its configured schedule and gives up, then applies dpd_action (clear / restart). And the
// reverse: ikelab made silent through its control API -> strongSwan gives up. Log fidelity vs dpd-timeout.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FAST_RETRANSMIT,
  type Lab,
  REFERENCE_LOGS_DIR,
  established,
  logdiff,
  requireInterop,
  type Charon,
  type Ikelab,
  useLab,
} from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** charon-style time stamp "Nov 23 13:50:28" -> seconds of the day. */
const secs = (line: string) => {
  const m = /(\d\d):(\d\d):(\d\d)/.exec(line)!;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
};

describe.skipIf(!RUN)('interop: DPD ikelab <-> strongSwan', () => {
  let lab: Lab;
  let swan: Charon | undefined;
  let ike: Ikelab | undefined;
  useLab((l) => {
    lab = l;
  });

  async function up(dpdAction: string) {
    swan = await lab.startCharon({ swanctlConf: swanctlConf({}), strongswanConfExtra: FAST_RETRANSMIT });
    const yaml = ikelabYaml({ ikelabStart: 'start', dpdDelay: '2s' }, lab.path('k', 'ikelab.sock')).replace(
      '    dpd_delay: 2s',
      `    dpd_delay: 2s\n    dpd_action: ${dpdAction}`,
    );
    ike = await lab.startIkelab(yaml);
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.length === 1 && x[0].state === 'ESTABLISHED', 3000);
    return { swan, ike };
  }

  it('peer frozen, dpd_action clear: DPD request, 3 retransmits on the 1.0/1.4/1.96 s schedule, give up, SA cleared', async () => {
    const { swan, ike } = await up('clear');
    swan.freeze();
    await ike.waitFor((x) => x.length === 0, 15_000);
    const lines = ike.log().split('\n');
    const dpd = lines.find((l) => l.includes('sending DPD request'))!;
    expect(dpd).toBeTruthy();
    expect(lines.some((l) => /generating INFORMATIONAL request 2 \[ \]/.test(l))).toBe(true);
    const rts = [1, 2, 3].map((n) => lines.find((l) => l.includes(`retransmit ${n} of request with message ID 2`))!);
    rts.forEach((l) => expect(l).toBeTruthy());
    const giveUp = lines.find((l) => l.includes('giving up after 3 retransmits'))!;
    expect(giveUp).toBeTruthy();
    // 1.0 + 1.4 + 1.96 + 2.744 = 7.1 s from the request to giving up (second resolution in the log)
    const total = secs(giveUp) - secs(dpd);
    expect(total).toBeGreaterThanOrEqual(6);
    expect(total).toBeLessThanOrEqual(8);
    const d = logdiff(path.join(REFERENCE_LOGS_DIR, 'dpd-timeout', 'initiator.log'), ike.logPath, { payloads: true });
    expect(d.missing).toEqual([]);
  }, 30_000);

  it('dpd --ike bar: one liveness check now, answered by strongSwan (exit 0); frozen strongSwan: exit 1', async () => {
    const { swan, ike } = await up('clear');
    const ok = await ike.cli(['dpd', '--ike', 'bar', '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.trim().split('\n').at(-1)!)).toMatchObject({ kind: 'dpd', count: 1, succeeded: 1, failed: 0 });
    expect(swan.log()).toMatch(/parsed INFORMATIONAL request \d+ \[ \]/);
    swan.freeze();
    const dead = await ike.cli(['dpd', '--ike', 'bar', '--json'], 25_000);
    expect(dead.code, dead.stdout + dead.stderr).toBe(1);
    // (the periodic DPD of dpd_delay 2 s may give up first and take the IKE_SA with it)
    const failures = JSON.parse(dead.stdout.trim().split('\n').at(-1)!).failures;
    expect(Object.keys(failures).every((k) => k === 'peer not responding' || k === 'IKE_SA gone')).toBe(true);
  }, 40_000);

  it('peer frozen, dpd_action restart: gives up, re-initiates, up again once strongSwan resumes', async () => {
    const { swan, ike } = await up('restart');
    const [first] = await ike.listSas();
    swan.freeze();
    for (let i = 0; i < 150 && !ike.log().includes('giving up after 3 retransmits'); i++) await sleep(100);
    expect(ike.log()).toContain('giving up after 3 retransmits');
    swan.thaw();
    const again = await ike.waitFor(
      (x) => x.some((s) => s.state === 'ESTABLISHED' && s.spiI !== first.spiI && s.children.length === 1),
      15_000,
    );
    expect(again.find((s) => s.spiI !== first.spiI).uniqueId).toBeGreaterThan(first.uniqueId);
    await swan.waitFor((x) => x.some((s) => s.spiI !== first.spiI && s.state === 'ESTABLISHED'), 5000);
  }, 40_000);

  it('ikelab silent (control API fault): strongSwan DPD gives up and deletes', async () => {
    swan = await lab.startCharon({ swanctlConf: swanctlConf({ dpdDelay: '2s' }), strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(ikelabYaml({ ikelabStart: 'start' }, lab.path('k', 'ikelab.sock')));
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    expect((await ike.cli(['fault', '--mode', 'silent'])).code).toBe(0);
    await swan.waitFor((x) => x.length === 0, 20_000);
    expect(swan.log()).toContain('sending DPD request');
    expect(swan.log()).toContain('giving up after 3 retransmits');
    expect((await ike.cli(['fault', '--mode', 'normal'])).code).toBe(0);
  }, 40_000);
});
