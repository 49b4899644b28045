// What the IKE side hands the data plane (src/ike/child-spec.ts -> src/ipsec/backend.ts): one plain spec per
// CHILD_SA, mirrored between the peers, updated when the outbound side is activated after a rekey, when the
// CHILD_SAs move to a rekeyed IKE_SA and when the peer's NAT mapping changes.
import { afterEach, expect, test } from 'vitest';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import { is, makePair, type RecordingBackend, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const recorder = (p: Pair, who: 'a' | 'b'): RecordingBackend => p[who].backend as RecordingBackend;

test('an established CHILD_SA: the spec carries SPIs, keys, suite, selectors and endpoints, mirrored between the peers', () => {
  const p = (pair = makePair({ a: { espProposals: ['aes128-sha256-modp2048'] }, b: { espProposals: ['aes128-sha256-modp2048'] } }));
  p.establish();
  const [ca, cb] = [p.a.children()[0]!, p.b.children()[0]!];
  const [sa, sb] = [recorder(p, 'a').specs.get(ca.uniqueId)!, recorder(p, 'b').specs.get(cb.uniqueId)!];
  expect(sa).toMatchObject({
    id: ca.uniqueId,
    reqid: ca.reqid,
    name: 'net',
    connection: 'demo',
    outboundActive: true,
    encap: false,
    dhGroup: 0 /* no KE in IKE_AUTH */,
    replayWindow: ca.config.replayWindow,
  });
  expect(sa.spiIn.equals(sb.spiOut) && sa.spiOut.equals(sb.spiIn)).toBe(true);
  expect(sa.keys.encrOut.equals(sb.keys.encrIn) && sa.keys.integOut.equals(sb.keys.integIn)).toBe(true);
  expect(sa.keys.encrIn.equals(sb.keys.encrOut) && sa.keys.integIn.equals(sb.keys.integOut)).toBe(true);
  expect(sa.suite).toEqual(ca.suite);
  expect(sa.localTs).toEqual(sb.remoteTs);
  expect([sa.local, sa.remote]).toEqual([p.a.sa().local, p.a.sa().remote]);
  expect([sb.local, sb.remote]).toEqual([p.b.sa().local, p.b.sa().remote]);
  expect(sa.counters).toBe(ca.counters); // the engine counts where list-sas reads
  expect(sa.logCtx).toMatchObject({ ikeName: 'demo', ikeId: p.a.sa().uniqueId });
});

test('CHILD_SA rekey: same reqid; the responder installs its outbound side only once the old SA is deleted', () => {
  const p = (pair = makePair());
  p.establish();
  const oldB = p.b.children()[0]!;
  p.a.daemon.ops.rekey(undefined, 'net');
  p.deliverAll();
  const [newA, newB] = [p.a.children()[0]!, p.b.children()[0]!];
  expect(newB.uniqueId).not.toBe(oldB.uniqueId);
  const bInstalls = recorder(p, 'b').installs.filter((s) => s.id === newB.uniqueId);
  expect(bInstalls.map((s) => s.outboundActive)).toEqual([false, true]);
  expect(bInstalls.every((s) => s.reqid === oldB.reqid)).toBe(true);
  expect(
    recorder(p, 'a')
      .installs.filter((s) => s.id === newA.uniqueId)
      .map((s) => s.outboundActive),
  ).toEqual([true]);
  expect(recorder(p, 'b').events).toEqual([
    `install net{${oldB.uniqueId}}`,
    `install net{${newB.uniqueId}}`,
    `remove net{${oldB.uniqueId}}`,
    `install net{${newB.uniqueId}}`,
  ]);
});

test('IKE_SA rekey: the CHILD_SAs are installed again under the new IKE_SA (its log context, same SA)', () => {
  const p = (pair = makePair());
  p.establish();
  const before = p.a.sa().uniqueId;
  const child = p.a.children()[0]!;
  p.a.daemon.ops.rekey('demo');
  p.deliverAll();
  const after = p.a.sa().uniqueId;
  expect(after).not.toBe(before);
  const spec = recorder(p, 'a').specs.get(child.uniqueId)!;
  expect(spec.logCtx).toMatchObject({ ikeId: after });
  expect(spec.spiIn.equals(child.spiIn)).toBe(true);
  expect(recorder(p, 'a').events).toEqual([`install net{${child.uniqueId}}`, `install net{${child.uniqueId}}`]);
});

test("the peer's NAT mapping changes (RFC 7296 2.23): the installed CHILD_SAs follow the IKE_SA's endpoints", () => {
  const p = (pair = makePair());
  p.establish();
  const sa = p.a.sa();
  sa.manager.queue(new IkeDpd(sa, true));
  sa.manager.initiate();
  const [req] = p.hold(is.requestFrom('A'));
  const rebound = { ...req!.src, port: 40123 };
  p.deliver({ ...req!, src: rebound });
  const b = p.b.sa();
  expect(b.remote).toEqual(rebound);
  const child = p.b.children()[0]!;
  const installs = recorder(p, 'b').installs.filter((s) => s.id === child.uniqueId);
  expect(installs).toHaveLength(2);
  expect(installs[1]!.remote).toEqual(rebound);
  expect(installs[1]!.local).toEqual(b.local);
});
