// Unit tests of the interop harness' pure parts: run/skip/fail decision, swanctl output parsing, logdiff output
// parsing. Needs neither root nor strongSwan, so it always runs.
import { describe, expect, it } from 'vitest';
import {
  availabilityFromProbes,
  boxed,
  decideInterop,
  established,
  interopRequired,
  parseListSas,
  parseLogdiffOutput,
  type InteropProbes,
} from '../helpers/lab.js';

const allGood: InteropProbes = {
  isRoot: true,
  hasIp: true,
  netnsOk: true,
  hasUnshare: true,
  hasCharon: true,
  hasStandardPlugins: true,
  hasSwanctl: true,
  hasTun: true,
  hasPython: true,
};

describe('interop availability decision', () => {
  it('all probes ok -> run, whatever the env', () => {
    expect(availabilityFromProbes(allGood)).toEqual({ ok: true });
    expect(decideInterop({ ok: true }, {})).toEqual({ action: 'run' });
    expect(decideInterop({ ok: true }, { CI: 'true' })).toEqual({ action: 'run' });
  });

  it('names every missing piece in the reason', () => {
    const a = availabilityFromProbes({ ...allGood, isRoot: false, hasCharon: false, netnsOk: false });
    expect(a.ok).toBe(false);
    if (!a.ok) {
      expect(a.reason).toMatch(/root/);
      expect(a.reason).toMatch(/charon/);
      expect(a.reason).toMatch(/ip netns/);
    }
    const noIp = availabilityFromProbes({ ...allGood, hasIp: false, netnsOk: false });
    expect(!noIp.ok && noIp.reason).toMatch(/iproute2/);
  });

  it('unavailable -> skip loudly without CI, fail with CI or IKELAB_REQUIRE_INTEROP=1', () => {
    const un = { ok: false as const, reason: 'not running as root' };
    const skip = decideInterop(un, {});
    expect(skip).toEqual({ action: 'skip', message: 'INTEROP TESTS SKIPPED: not running as root' });
    expect(decideInterop(un, { CI: '' }).action).toBe('skip'); // empty CI does not count
    expect(decideInterop(un, { IKELAB_REQUIRE_INTEROP: '0' }).action).toBe('skip');
    for (const env of [{ CI: 'true' }, { CI: '1' }, { CI: 'false' }, { IKELAB_REQUIRE_INTEROP: '1' }]) {
      const d = decideInterop(un, env);
      expect(d.action).toBe('fail');
      expect(d.action === 'fail' && d.message).toMatch(/INTEROP TESTS REQUIRED .* UNAVAILABLE: not running as root/);
    }
    expect(interopRequired({})).toBe(false);
    expect(interopRequired({ CI: 'x' })).toBe(true);
  });

  it('boxes the message', () => {
    const b = boxed('INTEROP TESTS SKIPPED: something');
    const lines = b.split('\n');
    expect(lines[0]).toMatch(/^!+$/);
    expect(lines[1]).toContain('INTEROP TESTS SKIPPED: something');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

// real `swanctl --list-sas --pretty` output of strongSwan 5.9.8 on these machines (responder side), trimmed
const PRETTY = `list-sa event {
  bar {
    uniqueid = 1
    version = 2
    state = ESTABLISHED
    local-host = 10.98.0.1
    local-port = 4500
    local-id = 10.98.0.1
    remote-host = 10.98.0.2
    remote-port = 4500
    remote-id = 10.98.0.2
    initiator-spi = 5da989daa35be8d9
    responder-spi = 45ee02cdf8160088
    nat-remote = yes
    nat-any = yes
    encr-alg = AES_CBC
    encr-keysize = 256
    integ-alg = HMAC_SHA2_256_128
    prf-alg = PRF_HMAC_SHA2_256
    dh-group = MODP_2048
    established = 0
    rekey-time = 13723
    child-sas {
      net-1 {
        name = net
        uniqueid = 1
        reqid = 1
        state = INSTALLED
        mode = TUNNEL
        protocol = ESP
        encap = yes
        spi-in = 96cfa114
        spi-out = 53ea142d
        encr-alg = AES_CBC
        encr-keysize = 256
        integ-alg = HMAC_SHA2_256_128
        bytes-in = 168
        packets-in = 2
        bytes-out = 168
        packets-out = 2
        rekey-time = 3332
        life-time = 3960
        install-time = 0
        local-ts = [
          10.11.0.0/24
        ]
        remote-ts = [
          10.12.0.0/24
          10.13.0.0/24
        ]
      }
    }
  }
}
list-sas reply {
}
`;

describe('swanctl --list-sas --pretty parser', () => {
  it('parses IKE and CHILD SAs', () => {
    const sas = parseListSas(PRETTY);
    expect(sas).toHaveLength(1);
    const sa = sas[0]!;
    expect(sa).toMatchObject({
      name: 'bar',
      uniqueId: 1,
      version: 2,
      state: 'ESTABLISHED',
      initiator: false,
      localHost: '10.98.0.1',
      localPort: 4500,
      remoteId: '10.98.0.2',
      spiI: '5da989daa35be8d9',
      spiR: '45ee02cdf8160088',
      dhGroup: 'MODP_2048',
      natRemote: true,
    });
    expect(sa.children).toHaveLength(1);
    expect(sa.children[0]).toMatchObject({
      name: 'net',
      key: 'net-1',
      state: 'INSTALLED',
      encap: true,
      spiIn: '96cfa114',
      spiOut: '53ea142d',
      encrAlg: 'AES_CBC',
      encrKeysize: 256,
      packetsIn: 2,
      localTs: ['10.11.0.0/24'],
      remoteTs: ['10.12.0.0/24', '10.13.0.0/24'],
    });
    expect(established(sas, 'bar', 'net')).toBe(true);
    expect(established(sas, 'bar', 'other')).toBe(false);
  });

  it('empty list', () => {
    expect(parseListSas('list-sas reply {\n}\n')).toEqual([]);
  });
});

describe('charon-logdiff output parser', () => {
  it('takes the score from the last line and collects missing lines', () => {
    const out =
      'missing: [IKE] initiating IKE_SA NAME[N] to ADDR\nmissing: [ENC] generating INFORMATIONAL request N [ D ]\n' +
      '25/27 reference lines matched in order (93%)\n';
    const r = parseLogdiffOutput(out);
    expect(r.score).toBeCloseTo(25 / 27);
    expect(r.matched).toBe(25);
    expect(r.total).toBe(27);
    expect(r.missing).toEqual(['[IKE] initiating IKE_SA NAME[N] to ADDR', '[ENC] generating INFORMATIONAL request N [ D ]']);
    expect(parseLogdiffOutput('0/0 reference lines matched in order (0%)').score).toBe(0);
    expect(() => parseLogdiffOutput('garbage')).toThrow(/unexpected output/);
  });
});
