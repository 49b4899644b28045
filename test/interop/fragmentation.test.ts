// IKEv2 fragmentation (RFC 7383) against a real strongSwan, both roles: with a small fragment size on both sides
// (charon.fragment_size in strongswan.conf, daemon.fragment_size in ours) and eight traffic selectors each way
// (one subnet, eight TCP ports: kernel-libipsec routes need a local address inside every local selector, and
// charon would merge nested subnets), IKE_AUTH is split in both directions, each side reassembles the other's fragments and the tunnel comes up.
// With `fragmentation: no` on our side we do not announce FRAG_SUP and strongSwan sends nothing fragmented.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, type Charon, type Ikelab, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf, type Scenario } from '../helpers/scenario.js';

const RUN = requireInterop();

/** The datagram size both sides cut IKE messages to (IP and UDP headers and the non-ESP marker included). */
const FRAGMENT_SIZE = 300;
/** Eight selectors of one subnet, quoted for our YAML flow list (swanctl.conf takes them bare). */
const ts = (net: number, quote = '') => Array.from({ length: 8 }, (_, i) => `${quote}10.${net}.0.0/24[tcp/${1001 + i}]${quote}`).join(', ');

const SCENARIO: Scenario = {
  swanLocalTs: ts(11),
  swanRemoteTs: ts(12),
  ikelabLocalTs: ts(12, '"'),
  ikelabRemoteTs: ts(11, '"'),
};

/** Our YAML with daemon.fragment_size and, optionally, the connection's fragmentation setting. */
function ourYaml(s: Scenario, sock: string, fragmentation?: 'no'): string {
  let y = ikelabYaml(s, sock).replace(/^daemon:\n/, `daemon:\n  fragment_size: ${FRAGMENT_SIZE}\n`);
  if (fragmentation) y = y.replace(/^ {4}version: 2\n/m, `    version: 2\n    fragmentation: ${fragmentation}\n`);
  return y;
}

describe.skipIf(!RUN)('interop: IKEv2 fragmentation (RFC 7383) with strongSwan', () => {
  let lab: Lab;

  useLab((l) => {
    lab = l;
  });

  async function up(s: Scenario, fragmentation?: 'no'): Promise<{ swan: Charon; ike: Ikelab }> {
    const swan = await lab.startCharon({
      swanctlConf: swanctlConf(s),
      strongswanConfExtra: `${FAST_RETRANSMIT}\nfragment_size = ${FRAGMENT_SIZE}`,
    });
    const ike = await lab.startIkelab(ourYaml(s, lab.path('k', 'ikelab.sock'), fragmentation));
    return { swan, ike };
  }

  const ikelabUp = (sas: any[]) =>
    sas.some(
      (s) => s.name === 'bar' && s.state === 'ESTABLISHED' && s.children.some((c: any) => c.name === 'net' && c.state === 'INSTALLED'),
    );

  async function bothUp(swan: Charon, ike: Ikelab) {
    const [sw, ik] = await Promise.all([swan.waitFor((s) => established(s, 'bar', 'net'), 10_000), ike.waitFor(ikelabUp, 10_000)]);
    const a = sw.find((s) => s.name === 'bar')!;
    const b = ik.find((s: any) => s.name === 'bar');
    expect(b.spiI).toBe(a.spiI);
    expect(b.spiR).toBe(a.spiR);
    // all eight selectors each way made it through the reassembled messages
    expect(a.children[0]!.localTs).toHaveLength(8);
    expect(a.children[0]!.remoteTs).toHaveLength(8);
    expect(b.children[0].localTs).toHaveLength(8);
    expect(b.children[0].remoteTs).toHaveLength(8);
  }

  /** Lines of a log matching re, for the failure message. */
  const grep = (log: string, re: RegExp) => log.split('\n').filter((l) => re.test(l));

  /** One side split `dir` and the other reassembled it: the lines each side prints. */
  function fragmented(sender: string, receiver: string, dir: 'request' | 'response') {
    const split = /splitting IKE message \((\d+) bytes\) into (\d+) fragments/.exec(sender);
    expect(split, `no "splitting IKE message" in the sender's log:\n${grep(sender, /IKE_AUTH|fragment/).join('\n')}`).not.toBeNull();
    const n = Number(split![2]);
    expect(n).toBeGreaterThan(1);
    expect(sender).toContain(`generating IKE_AUTH ${dir} 1 [ EF(1/${n}) ]`);
    expect(sender).toContain(`generating IKE_AUTH ${dir} 1 [ EF(${n}/${n}) ]`);
    expect(receiver).toContain(`parsed IKE_AUTH ${dir} 1 [ EF(1/${n}) ]`);
    expect(receiver).toMatch(/received fragment #\d+ of \d+, waiting for complete IKE message/);
    expect(receiver).toMatch(new RegExp(`received fragment #\\d+ of ${n}, reassembled fragmented IKE message \\(\\d+ bytes\\)`));
    expect(receiver).toMatch(new RegExp(`parsed IKE_AUTH ${dir} 1 \\[ (IDi|IDr) .*TSi TSr`));
  }

  it("ikelab initiates: our IKE_AUTH request and strongSwan's response go as fragments, the tunnel comes up", async () => {
    const { swan, ike } = await up({ ...SCENARIO, ikelabStart: 'start' });
    await bothUp(swan, ike);
    const ours = ike.log();
    const theirs = swan.log();
    expect(ours).toContain('N(FRAG_SUP)');
    fragmented(ours, theirs, 'request');
    fragmented(theirs, ours, 'response');
    // no datagram we sent in IKE_AUTH is above the fragment size (IP 20 + UDP 8 + non-ESP marker 4 on 4500)
    const sizes = grep(ours, /sending packet: from \S+\[4500\]/).map((l) => Number(/\((\d+) bytes\)/.exec(l)![1]));
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(FRAGMENT_SIZE - 32);
  });

  it('strongSwan initiates: its IKE_AUTH request and our response go as fragments, the tunnel comes up', async () => {
    const { swan, ike } = await up(SCENARIO);
    const r = await swan.swanctl(['--initiate', '--child', 'net']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await bothUp(swan, ike);
    const ours = ike.log();
    const theirs = swan.log();
    fragmented(theirs, ours, 'request');
    fragmented(ours, theirs, 'response');
    const t = await swan.swanctl(['--terminate', '--ike', 'bar']);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    await ike.waitFor((s) => s.length === 0, 8000);
  });

  it('fragmentation: no on our side: no FRAG_SUP from us in either role, strongSwan sends IKE_AUTH whole', async () => {
    let { swan, ike } = await up({ ...SCENARIO, ikelabStart: 'start' }, 'no');
    await bothUp(swan, ike);
    let theirs = swan.log();
    expect(theirs).toMatch(/parsed IKE_SA_INIT request 0 \[ [^\]]*\]/);
    expect(grep(theirs, /parsed IKE_SA_INIT request 0/).join('\n')).not.toContain('FRAG_SUP');
    expect(theirs).not.toContain('splitting IKE message');
    expect(theirs).not.toContain('EF(');
    expect(ike.log()).not.toContain('splitting IKE message');
    await ike.stop();
    await swan.stop();

    ({ swan, ike } = await up(SCENARIO, 'no'));
    const r = await swan.swanctl(['--initiate', '--child', 'net']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await bothUp(swan, ike);
    theirs = swan.log();
    // strongSwan announced it; we answered without it, so strongSwan does not fragment towards us
    expect(grep(theirs, /generating IKE_SA_INIT request 0/).join('\n')).toContain('FRAG_SUP');
    expect(grep(theirs, /parsed IKE_SA_INIT response 0/).join('\n')).not.toContain('FRAG_SUP');
    expect(theirs).not.toContain('splitting IKE message');
    expect(ike.log()).not.toContain('EF(');
  });
});
