// `ikelab initiate ... --psk --proposals --esp-proposals --local-ts --remote-ts` (src/ops/overrides.ts): one
// initiation with other settings than the loaded config, for reproducing a failure without editing the config.
// Each override makes the peer refuse as it would with a misconfigured initiator, and the next plain initiate uses
// the configured values again.
import { afterEach, describe, expect, test } from 'vitest';
import { ControlError } from '../../src/daemon.js';
import { parseOverrides } from '../../src/ops/overrides.js';
import { makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const up = (p: Pair) => p.a.sas().filter((s) => s.state === 'ESTABLISHED');
const installed = (p: Pair) => p.a.children().filter((c) => c.state === 'INSTALLED');

describe('initiate overrides, in-process pair', () => {
  test('--psk wrong: B refuses AUTH (AUTHENTICATION_FAILED); the configured PSK is untouched, a plain initiate succeeds', () => {
    const p = (pair = makePair());
    const sa = p.a.daemon.ops.initiate('demo', 'net', parseOverrides({ psk: 'not-the-secret' }));
    expect(sa.pskOverride?.toString()).toBe('not-the-secret');
    p.deliverAll();
    expect(p.a.sink.messages()).toContain(`initiating ${sa.label} with overrides for this IKE_SA only: psk (given on the command line)`);
    expect(p.a.sink.has(/not-the-secret/)).toBe(false); // the PSK itself is never logged
    expect(p.b.sink.messages()).toContain("tried 1 shared key for '127.0.0.2' - '127.0.0.1', but MAC mismatched");
    expect(p.b.sink.messages()).toContain('generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]');
    expect(p.a.sink.messages()).toContain('received AUTHENTICATION_FAILED notify error');
    expect(p.a.sas()).toEqual([]);
    expect(p.b.sas()).toEqual([]);
    // nothing of the override stayed: config and secrets as loaded, the next initiate authenticates
    expect(p.a.daemon.config.secrets[0]!.secret.toString()).toBe('ikelab-demo-secret');
    const again = p.a.daemon.ops.initiate('demo', 'net');
    expect(again.pskOverride).toBeUndefined();
    p.deliverAll();
    expect(up(p)).toHaveLength(1);
    expect(installed(p)).toHaveLength(1);
  });

  test('--proposals mismatch: NO_PROPOSAL_CHOSEN in IKE_SA_INIT; the IKE_SA keeps the override, the config does not', () => {
    const p = (pair = makePair());
    const sa = p.a.daemon.ops.initiate('demo', 'net', parseOverrides({ proposals: 'aes128-sha256-modp3072' }));
    expect(sa.config.proposalTexts).toEqual(['aes128-sha256-modp3072']);
    expect(p.a.daemon.config.connections[0]!.proposalTexts).toEqual(['aes256-sha256-modp2048']);
    p.deliverAll();
    expect(p.b.sink.messages()).toContain('received proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072');
    expect(p.b.sink.messages()).toContain('received proposals unacceptable');
    expect(p.b.sink.messages()).toContain('generating IKE_SA_INIT response 0 [ N(NO_PROP) ]');
    expect(p.a.sink.messages()).toContain('received NO_PROPOSAL_CHOSEN notify error');
    expect(p.a.sas()).toEqual([]);
    p.a.daemon.ops.initiate('demo', 'net');
    p.deliverAll();
    expect(up(p)).toHaveLength(1);
  });

  test('--esp-proposals mismatch: NO_PROPOSAL_CHOSEN for the CHILD_SA, the IKE_SA stays; the next CHILD_SA uses the config', () => {
    const p = (pair = makePair());
    p.a.daemon.ops.initiate('demo', 'net', parseOverrides({ espProposals: 'aes128-sha1' }));
    p.deliverAll();
    expect(p.b.sink.messages()).toContain('no acceptable proposal found');
    expect(p.a.sink.messages()).toContain('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
    expect(p.a.sink.messages()).toContain('failed to establish CHILD_SA, keeping IKE_SA');
    expect(up(p)).toHaveLength(1);
    expect(installed(p)).toEqual([]);
    // the IKE_SA is up: a plain initiate adds the CHILD_SA with the configured proposals
    p.a.daemon.ops.initiate('demo', 'net');
    p.deliverAll();
    expect(installed(p)).toHaveLength(1);
    expect(installed(p)[0]!.config.espProposalTexts).toEqual(['aes256gcm16']);
  });

  test('--esp-proposals on an established IKE_SA: a new CHILD_SA with the override, its rekeys too', () => {
    const p = (pair = makePair({ b: { espProposals: ['aes256gcm16', 'aes128gcm16'] } }));
    p.establish();
    expect(installed(p)).toHaveLength(1);
    const sa = p.a.daemon.ops.initiate('demo', 'net', parseOverrides({ espProposals: 'aes128gcm16' }));
    expect(sa).toBe(p.a.sa());
    p.deliverAll();
    const fresh = installed(p).find((c) => c.config.espProposalTexts[0] === 'aes128gcm16')!;
    expect(fresh).toBeDefined();
    expect(installed(p)).toHaveLength(2);
    expect(p.a.daemon.ops.rekey(undefined, `${fresh.uniqueId}`)).toBe(1);
    p.a.sink.clear();
    p.deliverAll();
    expect(p.a.sink.messages()).toContain('selected proposal: ESP:AES_GCM_16_128/NO_EXT_SEQ');
  });

  test('--remote-ts outside what the peer allows: TS_UNACCEPTABLE, the IKE_SA stays', () => {
    const p = (pair = makePair());
    p.a.daemon.ops.initiate('demo', 'net', parseOverrides({ remoteTs: '10.99.0.0/24' }));
    p.deliverAll();
    expect(p.b.sink.has(/traffic selectors .* unacceptable/)).toBe(true);
    expect(p.a.sink.messages()).toContain('received TS_UNACCEPTABLE notify, no CHILD_SA built');
    expect(up(p)).toHaveLength(1);
    expect(installed(p)).toEqual([]);
  });

  test('--local-ts narrower than configured: accepted, the CHILD_SA carries it', () => {
    const p = (pair = makePair());
    p.a.daemon.ops.initiate('demo', 'net', parseOverrides({ localTs: '10.201.0.0/28' }));
    p.deliverAll();
    expect(installed(p)).toHaveLength(1);
    expect(p.a.sink.has(/CHILD_SA net\{\d+\} established .* TS 10\.201\.0\.0\/28 === 10\.202\.0\.0\/24/)).toBe(true);
  });

  test('bad values are refused naming the flag; nothing is started', () => {
    const p = (pair = makePair());
    expect(() => parseOverrides({ proposals: 'aes128-sha256' })).toThrow(/^invalid --proposals: expected .*DH group is mandatory/);
    expect(() => parseOverrides({ espProposals: 'bogus' })).toThrow(/^invalid --esp-proposals: .*unknown algorithm keyword "bogus"/);
    expect(() => parseOverrides({ remoteTs: '10.1.0.0/33' })).toThrow(/^invalid --remote-ts: .*prefix length must be 0..32/);
    expect(() => parseOverrides({ localTs: ',' })).toThrow(
      'invalid --local-ts: expected a comma-separated list of traffic selectors, got nothing',
    );
    expect(() => parseOverrides({ psk: '0xabc' })).toThrow(/^invalid --psk: .*hex/);
    expect(() => parseOverrides({ espProposals: 'aes128-sha256' }, 'userspace')).not.toThrow();
    expect(() => p.a.daemon.ops.initiate('nope', undefined, parseOverrides({ psk: 'x' }))).toThrow(ControlError);
    expect(p.a.sas()).toEqual([]);
    expect(p.queue).toEqual([]);
  });
});
