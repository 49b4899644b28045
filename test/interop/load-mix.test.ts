// A load run with a failure mix against a real strongSwan headend (issue 16's acceptance): 2,000 SAs, of which
// wrong-psk 5 %, no-proposal 2 %, no-child-proposal 1 %, ts-mismatch 1 %, silent-after-auth 1 %, and each class
// counted from charon's own log, not from ikelab's:
//   wrong-psk          "tried 1 shared key for '...' - '...', but MAC mismatched"
//   no-proposal        "received proposals unacceptable" (IKE_SA_INIT)
//   no-child-proposal  "no acceptable proposal found" (the CHILD_SA of IKE_AUTH)
//   ts-mismatch        "traffic selectors ... unacceptable"
//   silent-after-auth  "giving up after 2 retransmits" (charon's DPD, 15 s after the last inbound message, given up
//                      after 1 + 1.4 + 1.96 s: every silenced IKE_SA is dead to charon within ~20 s)
// The shares are exact by construction (round(2000 * share), placed by a seeded shuffle): ikelab's planned and
// "as planned" counts are asserted exactly. Charon's count is asserted within the acceptance's +-1 % of 2,000
// (+-20 SAs): on a loaded host a retransmitted IKE_SA_INIT makes charon refuse (and log) a proposal twice.
//
// Paced at 50/s (a headend handles a few hundred setups/s, but this 2-core machine runs other tests: at 100/s
// under a load average of 15 most setups were given up), ECDH P-256, 51 source addresses, charon without routes,
// without its level-2 log (2,000 CHILD_SAs) and with COOKIE and block thresholds out of the way (a load run is
// not a flood; those are what the cookie-flood test is about). DPD after 15 s, not less: charon checks every good
// IKE_SA too (2,000 / 15 s = 133 exchanges/s on top of the setups), and a starved charon (load average 17 on 2
// cores during a run) overflows its 208 KiB socket buffer: with 10 s, 20 % of the datagrams to it were lost.
//
// A smaller rekey storm follows on the same lab: `rekey --all --rate 50` over 100 IKE_SAs, counted from charon's
// log too (its "CHILD_SA ... established" lines of the rekeyed CHILD_SAs and "IKE_SA ... rekeyed" lines).
import { describe, expect, it } from 'vitest';
import { type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const COUNT = 2000;
const MIX = 'wrong-psk=5%,no-proposal=2%,no-child-proposal=1%,ts-mismatch=1%,silent-after-auth=1%';
const PLANNED = { 'wrong-psk': 100, 'no-proposal': 40, 'no-child-proposal': 20, 'ts-mismatch': 20, 'silent-after-auth': 20 };
const CHARON_LINE: Record<keyof typeof PLANNED, RegExp> = {
  'wrong-psk': /tried 1 shared key for '[^']+' - '[^']+', but MAC mismatched/g,
  'no-proposal': /received proposals unacceptable/g,
  'no-child-proposal': /no acceptable proposal found/g,
  'ts-mismatch': /traffic selectors .+ unacceptable/g,
  'silent-after-auth': /giving up after 2 retransmits/g,
};
const POOL = Array.from({ length: 51 }, (_, i) => `10.98.0.${10 + i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The headend of a load test: any IDi, one PSK for %any, DPD after 15 s of silence, quick to give up. */
function headend(): { swanctl: string; strongswan: string } {
  const conf = swanctlConf({ ikeProposals: 'aes128-sha256-ecp256', espProposals: 'aes256gcm16', dpdDelay: '15s' })
    .replace(/remote \{ auth = psk\s+id = 10\.98\.0\.2 \}/, 'remote { auth = psk\n             id = %any }')
    .replace('remote_addrs = 10.98.0.2', 'remote_addrs = 10.98.0.0/24')
    .replace(/secrets \{[\s\S]*$/, 'secrets { ike-any { secret = "barsecret" } }\n');
  expect(conf).toContain('id = %any');
  expect(conf).toContain('dpd_delay = 15s');
  return {
    swanctl: conf,
    strongswan: [
      'retransmit_timeout = 1.0',
      'retransmit_base = 1.4',
      'retransmit_tries = 2',
      'install_routes = no',
      'cookie_threshold = 100000',
      'cookie_threshold_ip = 100000',
      'block_threshold = 100000',
    ].join('\n'),
  };
}

async function startPair(lab: Lab) {
  const { swanctl, strongswan } = headend();
  const swan = await lab.startCharon({ swanctlConf: swanctl, strongswanConfExtra: strongswan, debugLog: false });
  const add = await lab.execIn('k', ['sh', '-c', POOL.map((a) => `ip addr add ${a}/24 dev ${lab.veth.k} 2>/dev/null || true`).join('; ')]);
  expect(add.code, add.stderr).toBe(0);
  const ike = await lab.startIkelab(
    ikelabYaml(
      { ikeProposals: 'aes128-sha256-ecp256', espProposals: 'aes256gcm16', retransmit: { timeout: 2, base: 1.4, tries: 3 } },
      lab.path('k', 'ikelab.sock'),
    ).replace('listen: [10.98.0.2]', `listen: [10.98.0.2, ${POOL.join(', ')}]`),
  );
  return { swan, ike };
}

const countIn = (log: string, re: RegExp): number => log.match(re)?.length ?? 0;

describe.skipIf(!RUN)('interop: load run with a failure mix -> strongSwan', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  it(`${COUNT} SAs, ${MIX}: each class's share in charon's own log`, { timeout: 150_000 }, async () => {
    const { swan, ike } = await startPair(lab);
    const t0 = Date.now();
    const r = await ike.cli(
      [
        'initiate',
        '--ike',
        'bar',
        '--count',
        String(COUNT),
        '--rate',
        '50',
        '--id-pattern',
        'c%d@example.com',
        '--source-pool',
        '10.98.0.10-10.98.0.60',
        '--mix',
        MIX,
        '--mix-seed',
        '16',
        '--timeout',
        '70',
        '--json',
        '--quiet',
      ],
      85_000,
    );
    const cliSeconds = (Date.now() - t0) / 1000;
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    // ikelab's side: exact by construction, every class as planned
    expect(summary.mixPlanned, r.stderr).toEqual({ ...PLANNED, good: COUNT - 200 });
    expect(summary.mixAsPlanned, JSON.stringify({ ...summary, setupHistogram: undefined })).toEqual(summary.mixPlanned);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(summary).toMatchObject({ ok: true, count: COUNT, established: COUNT - 140, failed: 140, mixSeed: 16 });

    // charon's side: the silenced IKE_SAs are given up within ~10 s of their establishment
    const counted = () => Object.fromEntries(Object.entries(CHARON_LINE).map(([cls, re]) => [cls, countIn(swan.log(), re)]));
    for (let i = 0; i < 100 && counted()['silent-after-auth']! < PLANNED['silent-after-auth']; i++) await sleep(200);
    const seen = counted();
    process.stderr.write(
      `load mix: ${summary.established}/${COUNT} established, ${summary.failed} failed in ${summary.elapsedMs} ms ` +
        `(${summary.ratePerSec}/s, setup p50 ${summary.setupMs.p50} ms p99 ${summary.setupMs.p99} ms, CLI ${cliSeconds.toFixed(1)} s); ` +
        `charon counted ${JSON.stringify(seen)}, planned ${JSON.stringify(PLANNED)}\n`,
    );
    for (const [cls, planned] of Object.entries(PLANNED)) {
      expect(Math.abs(seen[cls]! - planned), `${cls}: charon logged ${seen[cls]}, planned ${planned}`).toBeLessThanOrEqual(COUNT / 100);
    }
  });

  it('rekey --all --rate 50 over 100 IKE_SAs: every CHILD_SA and IKE_SA rekeyed, as charon logs it', { timeout: 60_000 }, async () => {
    const { swan, ike } = await startPair(lab);
    const up = await ike.cli(
      [
        'initiate',
        '--ike',
        'bar',
        '--count',
        '100',
        '--rate',
        '100',
        '--id-pattern',
        'c%d@example.com',
        '--source-pool',
        '10.98.0.10-10.98.0.60',
        '--quiet',
      ],
      30_000,
    );
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const before = swan.log();
    const r = await ike.cli(['rekey', '--all', '--rate', '50', '--json', '--quiet'], 40_000);
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(s, r.stderr).toMatchObject({ ok: true, kind: 'rekey', scope: 'all', count: 200, succeeded: 200, failed: 0, done: true });
    expect(s.succeededBy).toEqual({ CHILD_SA: 100, IKE_SA: 100 });
    const after = swan.log().slice(before.length);
    // charon as the responder: the new CHILD_SA of each CHILD_SA rekey, and each IKE_SA rekey
    const childRekeys = countIn(after, /inbound CHILD_SA net\{\d+\} established with SPIs/g);
    const ikeRekeys = countIn(after, /IKE_SA bar\[\d+\] rekeyed between/g);
    process.stderr.write(
      `rekey storm: ${s.succeeded}/${s.count} in ${s.elapsedMs} ms (${s.ratePerSec}/s), latency p50 ${s.latencyMs.p50} ms ` +
        `p99 ${s.latencyMs.p99} ms; charon: ${childRekeys} CHILD_SAs established, ${ikeRekeys} IKE_SAs rekeyed\n`,
    );
    expect(childRekeys).toBe(100);
    expect(ikeRekeys).toBe(100);
  });
});
