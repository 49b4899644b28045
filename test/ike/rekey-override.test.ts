// `ikelab rekey --child NAME --dh none|GROUP` (Daemon.rekey's dh): the DH choice of the next rekey of that
// CHILD_SA only. Both peers require PFS (aes256gcm16-modp2048): without a KE the peer refuses the rekey with
// NO_PROPOSAL_CHOSEN (the field failure "PFS mismatch at CHILD_SA rekey"), the old CHILD_SA stays, and the next
// rekey, without the override, uses the configured group again.
import { afterEach, expect, test } from 'vitest';
import { ControlError } from '../../src/daemon.js';
import type { RecordingBackend } from '../helpers/peers.js';
import { makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const pfs = (b = ['aes256gcm16-modp2048']): Pair =>
  (pair = makePair({ a: { espProposals: ['aes256gcm16-modp2048'] }, b: { espProposals: b } }));
const dhOf = (p: Pair, who: 'a' | 'b'): number | undefined => {
  const c = p[who].children()[0]!;
  return (p[who].backend as RecordingBackend).specs.get(c.uniqueId)?.dhGroup;
};

test('--dh none: no KE, proposals without DH; B answers NO_PROPOSAL_CHOSEN, the old CHILD_SA stays; the next rekey uses PFS again', () => {
  const p = pfs();
  p.establish();
  const [oldA, oldB] = [p.a.children()[0]!, p.b.children()[0]!];
  p.a.sink.clear();
  p.b.sink.clear();
  expect(p.a.daemon.ops.rekey(undefined, 'net', 0)).toBe(1);
  p.deliverAll();
  const a = p.a.sink.messages();
  const b = p.b.sink.messages();
  expect(a).toContain(`CHILD_SA ${oldA.label} rekey with DH override: none`);
  expect(a).toContain('generating CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No TSi TSr ]'); // no KE
  expect(b).toContain('received proposals: ESP:AES_GCM_16_256/NO_EXT_SEQ'); // no DH transform
  expect(b).toContain('configured proposals: ESP:AES_GCM_16_256/MODP_2048/NO_EXT_SEQ');
  expect(b).toContain('no acceptable proposal found');
  expect(b).toContain('generating CREATE_CHILD_SA response 2 [ N(NO_PROP) ]');
  expect(a).toContain('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
  expect(a).toContain('failed to establish CHILD_SA, keeping IKE_SA');
  expect(a.some((l) => /^CHILD_SA rekeying failed, trying again in \d+ seconds$/.test(l))).toBe(true);
  // the old CHILD_SA stays on both sides, installed, same SPIs; the IKE_SA too
  expect(p.a.children()).toEqual([oldA]);
  expect(p.b.children()).toEqual([oldB]);
  expect([oldA.state, oldB.state]).toEqual(['INSTALLED', 'INSTALLED']);
  expect([p.a.sa().state, p.b.sa().state]).toEqual(['ESTABLISHED', 'ESTABLISHED']);

  // the override is forgotten: a plain rekey proposes MODP_2048 with a KE and succeeds
  p.a.sink.clear();
  p.b.sink.clear();
  p.a.daemon.ops.rekey(undefined, 'net');
  p.deliverAll();
  expect(p.a.sink.has(/rekey with DH override/)).toBe(false);
  expect(p.a.sink.messages()).toContain('generating CREATE_CHILD_SA request 3 [ N(REKEY_SA) SA No KE TSi TSr ]');
  expect(p.b.sink.messages()).toContain('selected proposal: ESP:AES_GCM_16_256/MODP_2048/NO_EXT_SEQ');
  const [newA, newB] = [p.a.children()[0]!, p.b.children()[0]!];
  expect(p.a.children()).toHaveLength(1);
  expect(newA).not.toBe(oldA);
  expect(newB).not.toBe(oldB);
  expect(newA.spiIn.equals(newB.spiOut) && newA.spiOut.equals(newB.spiIn)).toBe(true);
  expect(newA.spiIn.equals(oldA.spiIn)).toBe(false);
  expect([dhOf(p, 'a'), dhOf(p, 'b')]).toEqual([14, 14]);

  // the retry timer of the failed rekey finds its CHILD_SA rekeyed already: nothing more happens
  p.a.sink.clear();
  p.run(20_000, 1000);
  expect(p.a.children()).toEqual([newA]);
  expect(p.a.sink.has(/establishing CHILD_SA/)).toBe(false);
});

test('--dh ecp256 against a peer accepting only modp2048: only ECP_256 offered with its KE; B answers NO_PROPOSAL_CHOSEN', () => {
  const p = pfs();
  p.establish();
  const [oldA, oldB] = [p.a.children()[0]!, p.b.children()[0]!];
  p.a.sink.clear();
  p.b.sink.clear();
  p.a.daemon.ops.rekey(undefined, 'net', 19);
  p.deliverAll();
  const a = p.a.sink.messages();
  const b = p.b.sink.messages();
  expect(a).toContain(`CHILD_SA ${oldA.label} rekey with DH override: ECP_256`);
  expect(a).toContain('generating CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No KE TSi TSr ]');
  expect(b).toContain('received proposals: ESP:AES_GCM_16_256/ECP_256/NO_EXT_SEQ');
  expect(b).toContain('no acceptable proposal found');
  // ikelab as responder selects the proposal first: a group it does not accept at all is NO_PROPOSAL_CHOSEN,
  // INVALID_KE_PAYLOAD only when a proposal matches with another group than the KE's (not possible with one group)
  expect(b.some((l) => l.includes('INVALID_KE'))).toBe(false);
  expect(a).toContain('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
  expect(p.a.children()).toEqual([oldA]);
  expect(p.b.children()).toEqual([oldB]);
  expect(oldA.state).toBe('INSTALLED');
});

test('--dh ecp256 against a peer accepting it too: the new CHILD_SA uses ECP_256, the next rekey MODP_2048 again', () => {
  const p = pfs(['aes256gcm16-modp2048-ecp256']);
  p.establish();
  p.a.sink.clear();
  p.a.daemon.ops.rekey(undefined, 'net', 19);
  p.deliverAll();
  expect(p.a.sink.messages()).toContain('selected proposal: ESP:AES_GCM_16_256/ECP_256/NO_EXT_SEQ');
  expect([dhOf(p, 'a'), dhOf(p, 'b')]).toEqual([19, 19]);
  p.a.daemon.ops.rekey(undefined, 'net');
  p.deliverAll();
  expect([dhOf(p, 'a'), dhOf(p, 'b')]).toEqual([14, 14]);
});

test('--dh with --ike is refused', () => {
  const p = pfs();
  p.establish();
  expect(() => p.a.daemon.ops.rekey('demo', undefined, 0)).toThrow(ControlError);
});
