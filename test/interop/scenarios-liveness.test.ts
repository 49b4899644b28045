// The built-in scenarios about liveness and teardown (ikelab dead, peer dead, deletes, a lost DELETE response,
// replayed ESP) run by the scenario runner against a real strongSwan, in both roles: the tunnel brought up by
// ikelab (the scenario's own `initiate`) or by strongSwan (swanctl --initiate first; the scenario's `initiate`
// then finds it up). Each test checks the run's verdicts, the lines charon wrote, and for the dead scenarios that
// the tunnel comes back once the fault is cleared at run time (no restart of either daemon).
import { describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { findScenario } from '../../src/scenario/builtins.js';
import { runScenario } from '../../src/scenario/runner.js';
import { type Charon, established, FAST_RETRANSMIT, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { verdicts } from '../helpers/verdicts.js';
import { DEFAULT_ESP, ikelabYaml, type Scenario, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();

const HOST = '10.12.0.7'; // ikelab's virtual host (inside its local_ts): the source of its pings
const SWAN = '10.11.0.1'; // on strongSwan's lo, inside its local_ts: answers them

/** The ESP sequence numbers libipsec rejected from ikelab, in order: it logs each rejection over two lines, the second naming the packet. */
const rejectedSeqs = (log: string) =>
  [
    ...log.matchAll(
      /ESP sequence number verification failed:\n.*\[ESP\]\s+src 10\.98\.0\.2, dst 10\.98\.0\.1, SPI [0-9a-f]{8} \[seq (\d+)\]/g,
    ),
  ].map((m) => Number(m[1]));

/** charon's DPD every 2 s; when it gives up it starts over (dpd_action restart) and keeps trying (keyingtries 0). */
const swanDpdRestart = (conf: string) =>
  conf
    .replace('    version = 2', '    version = 2\n    keyingtries = 0\n    dpd_delay = 2s')
    .replace(`esp_proposals = ${DEFAULT_ESP} }`, `esp_proposals = ${DEFAULT_ESP}\n                     dpd_action = restart }`);

/** The transmit counter of ikelab's socket: every datagram it sent, IKE, ESP and keepalives alike. */
const txOf = async (sock: string) => ((await controlCall(sock, 'stats', {})) as { transport: { tx: number } }).transport.tx;

const ROLES = [
  { role: 'ikelab', title: 'ikelab brings the tunnel up' },
  { role: 'strongswan', title: 'strongSwan brings the tunnel up' },
] as const;

describe.skipIf(!RUN)('interop: liveness scenarios against strongSwan', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });
  let n = 0;

  /** strongSwan and ikelab; with role strongswan the tunnel is up (charon initiated) when this returns. */
  async function up(
    role: 'ikelab' | 'strongswan',
    s: Scenario = {},
    swan: (conf: string) => string = (c) => c,
    ikelab: (yaml: string) => string = (y) => y,
  ) {
    const charon = await lab.startCharon({ swanctlConf: swan(swanctlConf(s)), strongswanConfExtra: FAST_RETRANSMIT });
    const sock = lab.path('k', `ikelab${++n}.sock`);
    const ike = await lab.startIkelab(ikelab(ikelabYaml(s, sock)));
    if (role === 'strongswan') {
      const r = await charon.swanctl(['--initiate', '--child', 'net']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      await charon.waitFor((x) => established(x, 'bar', 'net'), 8000);
      await ike.waitFor((x) => x.some((a) => a.state === 'ESTABLISHED' && a.children.some((c: any) => c.state === 'INSTALLED')), 5000);
    }
    return { charon, ike, sock };
  }

  async function run(name: string, charon: Charon, sock: string, params: Record<string, string>, onLine?: (l: string) => void) {
    const lines: string[] = [];
    const r = await runScenario(findScenario(name), {
      socket: sock,
      peerLog: charon.logPath,
      params,
      out: (l) => {
        lines.push(l);
        onLine?.(l);
      },
    });
    if (!r.passed) process.stderr.write(`${lines.join('\n')}\n--- charon ---\n${charon.log().slice(-4000)}\n`);
    return r;
  }

  /** The tunnel carries traffic again: strongSwan's host pings ikelab's through it. */
  async function pingsThrough() {
    const p = await lab.execIn('s', ['ping', '-n', '-c', '2', '-i', '0.3', '-W', '2', '-I', SWAN, HOST], 10_000);
    expect(p.stdout).toMatch(/2 packets transmitted, 2 received/);
  }

  describe.each(ROLES)('$title', ({ role }) => {
    it('ikelab-dead: charon retransmits its DPD and gives up while ikelab sends nothing; cleared, the tunnel is back', async () => {
      const u = await up(role, { hostAddrs: [HOST] }, swanDpdRestart);
      // ikelab's transmit counter when the rule is in place, and again when the dead window has passed
      let txDead: Promise<number> | undefined;
      let txAfter: Promise<number> | undefined;
      const r = await run('ikelab-dead', u.charon, u.sock, { dead_for: '14s', back_within: '30s' }, (l) => {
        if (/ PASS fault add ikelab-dead:/.test(l)) txDead = txOf(u.sock);
        if (/ PASS ikelab sends nothing while dead:/.test(l)) txAfter = txOf(u.sock);
      });
      expect(verdicts(r)).toEqual([
        'PASS initiate net',
        'PASS wait-state ike bar ESTABLISHED',
        'PASS fault add ikelab-dead',
        'PASS ikelab sends nothing while dead',
        'PASS peer DPD gave up',
        'PASS fault clear ikelab-dead',
        'PASS tunnel re-established by either side',
        'PASS CHILD_SA back',
      ]);
      expect(r.passed).toBe(true);
      expect(await txAfter).toBe(await txDead);
      const log = u.charon.log();
      // the request charon gives up on is its DPD, or (when a kernel address event fires just after IKE_AUTH, as
      // kernel-libipsec's TUN device makes it do at random) its MOBIKE address list update: either way an
      // INFORMATIONAL ikelab, dead, never answered
      expect(log).toMatch(/sending DPD request|sending address list update using MOBIKE/);
      expect(log).toMatch(/retransmit 1 of request with message ID \d+/);
      expect(log).toMatch(/retransmit 3 of request with message ID \d+/);
      expect(log).toContain('giving up after 3 retransmits');
      expect(log).toMatch(/restarting CHILD_SA net/);
      await pingsThrough();
    }, 60_000);

    it('peer-dead: ikelab retransmits its DPD, declares the peer dead; cleared, it re-establishes', async () => {
      const u = await up(role, { dpdDelay: '2s', hostAddrs: [HOST] });
      const r = await run('peer-dead', u.charon, u.sock, { within: '20s' });
      expect(verdicts(r)).toEqual([
        'PASS initiate net',
        'PASS wait-state ike bar ESTABLISHED',
        'PASS fault add peer-dead-ike',
        'PASS fault add peer-dead-esp',
        'PASS DPD retransmitted',
        'PASS peer declared dead',
        'PASS peer-log /received retransmit of request with ID \\d+, retransmitting response/',
        'PASS fault clear peer-dead-ike',
        'PASS fault clear peer-dead-esp',
        'PASS initiate net',
        'PASS tunnel re-established',
      ]);
      expect(r.passed).toBe(true);
      expect(u.charon.log()).toMatch(/received retransmit of request with ID \d+, retransmitting response/);
      expect(u.ike.log()).toContain('giving up after 3 retransmits');
      await pingsThrough();
    }, 60_000);

    it('delete-ike-no-reinit: charon gets the DELETE, nobody re-initiates', async () => {
      const u = await up(role);
      const r = await run('delete-ike-no-reinit', u.charon, u.sock, { quiet_for: '6s' });
      expect(verdicts(r)).toEqual([
        'PASS initiate net',
        'PASS wait-state ike bar ESTABLISHED',
        'PASS terminate ike bar',
        'PASS nobody re-established the tunnel',
        'PASS ikelab did not re-initiate',
        'PASS DELETE sent',
        'PASS peer-log /received DELETE for IKE_SA/',
      ]);
      expect(r.passed).toBe(true);
      expect(u.charon.log()).toMatch(/received DELETE for IKE_SA bar\[1\]/);
      expect(await u.charon.listSas()).toEqual([]);
    }, 30_000);

    it('delete-child: charon gets the DELETE for the CHILD_SA, the IKE_SA stays, nothing re-creates it', async () => {
      const u = await up(role);
      const r = await run('delete-child', u.charon, u.sock, { quiet_for: '6s' });
      expect(verdicts(r)).toEqual([
        'PASS initiate net',
        'PASS wait-state child net INSTALLED',
        'PASS terminate child net',
        'PASS DELETE sent',
        'PASS peer-log /received DELETE for ESP CHILD_SA/',
        'PASS IKE_SA kept',
        'PASS CHILD_SA not re-created',
      ]);
      expect(r.passed).toBe(true);
      expect(u.charon.log()).toMatch(/received DELETE for ESP CHILD_SA with SPI [0-9a-f]{8}/);
      const sw = await u.charon.listSas();
      expect(sw.map((s) => [s.state, s.children.length])).toEqual([['ESTABLISHED', 0]]);
    }, 30_000);

    it('lost-delete-response: ikelab retransmits its DELETE, gives up and removes the IKE_SA', async () => {
      const u = await up(role);
      const r = await run('lost-delete-response', u.charon, u.sock, { give_up_within: '15s' });
      expect(verdicts(r)).toEqual([
        'PASS initiate net',
        'PASS wait-state ike bar ESTABLISHED',
        'PASS fault add lost-delete-response',
        'PASS terminate ike bar',
        'PASS DELETE sent',
        'PASS peer-log /received DELETE for IKE_SA/',
        'PASS DELETE retransmitted',
        'PASS IKE_SA removed after giving up',
        'PASS cleanup fault lost-delete-response',
      ]);
      expect(r.passed).toBe(true);
      expect(u.ike.log()).toContain('giving up after 3 retransmits');
      expect(await u.charon.listSas()).toEqual([]);
    }, 30_000);

    it('anti-replay: ikelab sends ESP packets again, charon rejects every copy', async () => {
      const u = await up(role, { hostAddrs: [HOST] });
      const r = await run('anti-replay', u.charon, u.sock, { dst: SWAN });
      expect(verdicts(r)).toEqual([
        'PASS initiate net',
        'PASS wait-state child net INSTALLED',
        'PASS fault add esp-replay3',
        'PASS ping 10.11.0.1 through net',
        'PASS replay sent',
        'PASS peer-log /ESP sequence number verification failed/',
        'PASS cleanup fault esp-replay3',
      ]);
      expect(r.passed).toBe(true);
      expect(rejectedSeqs(u.charon.log())).toEqual([1, 2, 3]);
    }, 30_000);
  });

  it("reorder-beyond-window: one ESP packet 140 behind is outside libipsec's window of 128 and dropped; 100 behind is not", async () => {
    const u = await up('ikelab', { hostAddrs: [HOST] });
    // kernel-libipsec's window is a fixed 128 packets (esp_context.c), whatever replay_window says
    const r = await run('reorder-beyond-window', u.charon, u.sock, { dst: SWAN, by: '140', count: '150' });
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state child net INSTALLED',
      'PASS fault add esp-late',
      'PASS ping 10.11.0.1 through net',
      'PASS one ESP packet held back',
      'PASS peer-log /ESP sequence number verification failed/',
      'PASS cleanup fault esp-late',
    ]);
    // the late packet is the second echo request (ESP seq 2): that one ping is lost, no other
    expect(r.steps[3]!.detail).toBe('149/150 replies');
    expect(rejectedSeqs(u.charon.log())).toEqual([2]);

    // the same packet 100 behind is inside the window: accepted, every ping answered, nothing rejected
    const before = u.charon.log().length;
    await controlCall(u.sock, 'fault', {
      op: 'add',
      name: 'late100',
      match: 'proto=esp,dir=out,nth=2',
      action: 'reorder=20,max=60s',
      count: '1',
    });
    const p = (await controlCall(u.sock, 'ping', { child: 'net', dst: SWAN, count: '110', interval: '20' }, 60_000)) as {
      sent: number;
      received: number;
    };
    expect(p).toMatchObject({ sent: 110, received: 110 });
    const rules = (await controlCall(u.sock, 'fault', { op: 'list' })) as { name: string; fired: number }[];
    expect(rules.find((x) => x.name === 'late100')?.fired).toBe(1);
    expect(rejectedSeqs(u.charon.log().slice(before))).toEqual([]);
  }, 60_000);

  it('scenario run anti-replay --repeat 3 from the CLI: three whole runs on one tunnel, each rejected by charon, 3 of 3 passed', async () => {
    const u = await up('ikelab', { hostAddrs: [HOST] });
    const r = await u.ike.cli(
      ['scenario', 'run', 'anti-replay', '--repeat', '3', '--set', `dst=${SWAN}`, '--peer-log', u.charon.logPath],
      60_000,
    );
    if (r.code !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n--- charon ---\n${u.charon.log().slice(-3000)}\n`);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^--- run \d of 3$/gm)).toEqual(['--- run 1 of 3', '--- run 2 of 3', '--- run 3 of 3']);
    expect(r.stdout.match(/PASSED anti-replay/g)).toHaveLength(3);
    expect(r.stdout).toMatch(/^repeated anti-replay: 3 of 3 runs passed$/m);
    // and how long the waiting steps took, e.g. charon's rejection after the replay was sent
    expect(r.stdout).toMatch(
      /^ {2}took \d+\.\d{3} s median \(\d+\.\d{3} s to \d+\.\d{3} s\) in 3 passes: peer-log \/ESP sequence number verification failed\/$/m,
    );
    // each run replayed three packets of its own, and charon rejected all nine
    expect(u.charon.log().match(/ESP sequence number verification failed/g)).toHaveLength(9);
    // one tunnel throughout: the runs after the first reused it
    expect(await u.charon.listSas()).toHaveLength(1);
  }, 60_000);

  it('delete-ike-no-reinit against a charon with close_action start: the scenario catches the re-initiation', async () => {
    const u = await up('strongswan', {}, (c) =>
      c.replace(`esp_proposals = ${DEFAULT_ESP} }`, `esp_proposals = ${DEFAULT_ESP}\n                     close_action = start }`),
    );
    const r = await run('delete-ike-no-reinit', u.charon, u.sock, { quiet_for: '6s' });
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state ike bar ESTABLISHED',
      'PASS terminate ike bar',
      'FAIL nobody re-established the tunnel',
      'SKIP ikelab did not re-initiate',
      'SKIP DELETE sent',
      'SKIP peer-log /received DELETE for IKE_SA/',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.steps[3]!.detail).toMatch(/^unexpected ike\.established bar\[2\]/);
    expect(u.charon.log()).toMatch(/received DELETE for IKE_SA bar\[1\][\s\S]*initiating IKE_SA bar\[2\]/);
  }, 30_000);
});
