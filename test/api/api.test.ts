// The TypeScript API (src/api.ts), member by member, on two real peers over UDP on loopback: 127.0.0.31 and
// 127.0.0.32, unprivileged ports of their own (other test files use other addresses, so files may run in parallel).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { ConfigError, type IkelabEvent, OpError, type Peer, PeerError, startPeer } from '../../src/api.js';

const A = '127.0.0.31';
const B = '127.0.0.32';
const PORT = 16100;

/** YAML text of one peer, demo-a/demo-b style; retransmits give up after about 2.4 s. */
function yaml(me: string, peer: string, extraChild = ''): string {
  const [l, r] = me === A ? ['10.201.0.0/24', '10.202.0.0/24'] : ['10.202.0.0/24', '10.201.0.0/24'];
  return `daemon:
  listen: [${me}]
  port: ${PORT}
  natt_port: ${PORT + 1}
  retransmit: { timeout: 0.5, base: 1.4, tries: 2 }
  log: { stdout: false, levels: { default: 1 } }
connections:
  demo:
    local_addrs: [${me}]
    remote_addrs: [${peer}]
    remote_port: ${PORT}
    proposals: [aes256-sha256-modp2048]
    local: { auth: psk, id: ${me} }
    remote: { auth: psk, id: ${peer} }
    children:
      net:
        local_ts: [${l}]
        remote_ts: [${r}]
        esp_proposals: [aes256gcm16]
${extraChild}secrets:
  ike-demo:
    id: [${A}, ${B}]
    secret: ikelab-demo-secret
`;
}

const started: Peer[] = [];
const scratch: string[] = [];

async function peer(config: Parameters<typeof startPeer>[0], options?: Parameters<typeof startPeer>[1]): Promise<Peer> {
  const p = await startPeer(config, options);
  started.push(p);
  return p;
}

const pair = async (): Promise<[Peer, Peer]> => [await peer(yaml(A, B)), await peer(yaml(B, A))];

afterEach(async () => {
  for (const p of started.splice(0)) await p.stop();
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('initiate resolves on ESTABLISHED with the SA as list-sas shows it; again: the same SA at once', async () => {
  const [a, b] = await pair();
  const up = await a.initiate('net');
  // (local: the NAT-T port, as the userspace ESP engine makes both ends encapsulate)
  expect(up.ike).toMatchObject({ name: 'demo', state: 'ESTABLISHED', initiator: true, localId: A, remote: `${B}[${PORT + 1}]` });
  expect(up.child).toMatchObject({ name: 'net', state: 'INSTALLED', remoteTs: ['10.202.0.0/24'] });
  expect(b.listSas()).toMatchObject([{ name: 'demo', state: 'ESTABLISHED', initiator: false }]);
  const again = await a.initiate({ ike: 'demo', child: 'net' });
  expect(again.ike.uniqueId).toBe(up.ike.uniqueId);
  expect(again.child?.uniqueId).toBe(up.child?.uniqueId);
  expect(a.listSas()).toHaveLength(1);
});

test('initiate rejects with the notify: a PSK override, an ESP proposal override, a silent peer', async () => {
  const [a, b] = await pair();
  const auth = await a.initiate({ child: 'net', psk: 'wrong' }).catch((e: unknown) => e);
  expect(auth).toBeInstanceOf(PeerError);
  expect(auth).toMatchObject({ notify: 'AUTHENTICATION_FAILED', reason: expect.any(String) });
  expect((auth as Error).message).toContain('AUTHENTICATION_FAILED');

  await a.initiate('net');
  // child-level override on the IKE_SA that is up: a new CHILD_SA is refused, the IKE_SA stays
  await expect(a.initiate({ child: 'net', espProposals: ['aes128gcm16'] })).rejects.toMatchObject({ notify: 'NO_PROPOSAL_CHOSEN' });
  expect(a.listSas()).toMatchObject([{ state: 'ESTABLISHED', children: [{ name: 'net' }] }]);

  await b.stop(); // says goodbye: DELETE for its IKE_SA, so A has none left
  expect(a.listSas()).toEqual([]);
  const dead = await a.initiate('net').catch((e: unknown) => e);
  expect(dead).toMatchObject({ name: 'PeerError', reason: 'peer not responding' });
}, 20_000);

test('initiate refuses what it cannot do with an OpError: unknown child, bad override', async () => {
  const [a] = await pair();
  await expect(a.initiate('nope')).rejects.toThrow(OpError);
  await expect(a.initiate('nope')).rejects.toThrow(/no child named 'nope'/);
  await expect(a.initiate({ child: 'net', proposals: 'rot13-md4' })).rejects.toThrow(/invalid --proposals/);
  expect(a.listSas()).toEqual([]);
});

test('terminate (child, then IKE_SA) and rekey (child, IKE_SA) resolve when done', async () => {
  const [a, b] = await pair();
  const up = await a.initiate('net');
  const rekeyed = await a.rekey('net');
  expect(rekeyed).toMatchObject({ ok: true, child: 'net' });
  expect(rekeyed.childId).not.toBe(up.child?.uniqueId);
  const ike = await a.rekey({ ike: 'demo' });
  expect(ike.ikeId).not.toBe(up.ike.uniqueId);
  // the CHILD_SAs moved to the new IKE_SA (the old one may still wait for its DELETE's answer)
  expect(
    a
      .listSas()
      .find((s) => s.uniqueId === ike.ikeId)
      ?.children.map((c) => c.uniqueId),
  ).toEqual([rekeyed.childId]);

  await expect(a.terminate('net')).resolves.toMatchObject({ ok: true });
  expect(a.listSas().find((s) => s.uniqueId === ike.ikeId)).toMatchObject({ state: 'ESTABLISHED', children: [] });
  await expect(a.terminate({ ike: 'demo' })).resolves.toMatchObject({ ok: true });
  expect(a.listSas()).toEqual([]);
  await expect.poll(() => b.listSas()).toEqual([]);
  await expect(a.terminate({ ike: 'demo' })).rejects.toThrow(OpError);
  await expect(a.rekey('net')).rejects.toThrow(OpError);
});

test('on: a name, a prefix, * and the unsubscribe; an impossible pattern is refused', async () => {
  const [a] = await pair();
  const names: string[] = [];
  const ike: string[] = [];
  const all: IkelabEvent[] = [];
  const offNames = a.on('child.established', (e) => names.push(e.event));
  a.on('ike.*', (e) => ike.push(e.event));
  const offAll = a.on('*', (e) => all.push(e));
  await a.initiate('net');
  expect(names).toEqual(['child.established']);
  expect(ike).toEqual(['ike.initiating', 'ike.established']);
  expect(all.some((e) => e.event === 'message.sent' && e.exchange === 'IKE_SA_INIT')).toBe(true);
  offNames();
  offAll();
  const seen = all.length;
  await a.terminate({ ike: 'demo' });
  expect(names).toHaveLength(1);
  expect(all).toHaveLength(seen);
  expect(ike).toEqual(['ike.initiating', 'ike.established', 'ike.deleted', 'ike.destroyed']);
  expect(() => a.on('ike.establised' as never, () => {})).toThrow(/unknown event pattern 'ike.establised'/);
  await expect(a.waitFor('ike.establised' as never)).rejects.toThrow(TypeError);
});

test('waitFor: the next matching event (fields or a predicate), a timeout, and stop() ends a pending wait', async () => {
  const [a, b] = await pair();
  const byFields = b.waitFor('child.established', { match: { child: 'net', ike: 'demo' } });
  const byPredicate = a.waitFor('message.received', { match: (e) => e.exchange === 'IKE_AUTH' });
  await a.initiate('net');
  await expect(byFields).resolves.toMatchObject({ event: 'child.established', child: 'net', time: expect.any(String) });
  await expect(byPredicate).resolves.toMatchObject({ request: false });

  const t0 = Date.now();
  await expect(a.waitFor('ike.failed', { timeoutMs: 150 })).rejects.toMatchObject({ name: 'PeerError', reason: 'timeout' });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

  const pending = expect(a.waitFor('dpd.timeout', { timeoutMs: 60_000 })).rejects.toThrow(/stopped/);
  await a.stop();
  await pending;
});

test('fault add / list / clear: the rule acts, counts its firings, and names are checked', async () => {
  const [a, b] = await pair();
  const rule = b.fault.add('refuse-auth', {
    match: { exchange: 'IKE_AUTH', dir: 'in', request: true },
    action: 'notify=AUTHENTICATION_FAILED',
    count: 1,
  });
  expect(rule).toMatchObject({ name: 'refuse-auth', count: 1, state: 'active' });
  b.fault.add('slow', { match: 'exchange=INFORMATIONAL,dir=in', action: { delay: '10ms' } });
  expect(b.fault.list().map((r) => r.name)).toEqual(['refuse-auth', 'slow']);
  expect(() => b.fault.add('slow', { action: 'drop' })).toThrow(/named 'slow' exists/);
  expect(() => b.fault.add('typo', { match: { exchange: 'IKE_AUHT' }, action: 'drop' })).toThrow(/exchange/);

  await expect(a.initiate('net')).rejects.toMatchObject({ notify: 'AUTHENTICATION_FAILED' });
  expect(b.fault.list()[0]).toMatchObject({ name: 'refuse-auth', fired: 1, state: 'spent' });
  await expect(a.initiate('net')).resolves.toMatchObject({ child: { state: 'INSTALLED' } });

  expect(b.fault.clear('refuse-auth')).toEqual(['refuse-auth']);
  expect(() => b.fault.clear('refuse-auth')).toThrow(/no fault rule named 'refuse-auth'/);
  expect(b.fault.clear()).toEqual(['slow']);
  expect(b.fault.list()).toEqual([]);
});

test('stop is idempotent, sends DELETEs, frees the ports; the stopped peer refuses operations', async () => {
  const [a, b] = await pair();
  await a.initiate('net');
  const deleted = b.waitFor('ike.deleted', { match: { direction: 'in' } });
  const first = a.stop();
  expect(a.stop()).toBe(first);
  await Promise.all([first, a.stop()]);
  await expect(deleted).resolves.toMatchObject({ ike: 'demo' });
  expect(b.listSas()).toEqual([]);
  await expect(a.initiate('net')).rejects.toThrow(/stopped/);
  // the addresses and ports are free again
  const again = await peer(yaml(A, B));
  await expect(again.initiate('net')).resolves.toMatchObject({ ike: { state: 'ESTABLISHED' } });
});

test('an address and port in use: startPeer rejects and leaves nothing open behind', async () => {
  const first = await peer(yaml(A, B));
  await expect(startPeer(yaml(A, B))).rejects.toMatchObject({ code: 'EADDRINUSE' });
  await first.stop();
  await expect(peer(yaml(A, B))).resolves.toBeDefined();
});

test('config from a path, YAML text or an object; errors name the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ikelab-api-'));
  scratch.push(dir);
  const file = join(dir, 'a.yaml');
  writeFileSync(file, yaml(A, B));
  chmodSync(file, 0o600);
  const fromPath = await peer(file);
  expect(fromPath.config.file).toBe(file);
  expect(fromPath.config.connections.map((c) => c.name)).toEqual(['demo']);
  const fromText = await peer(yaml(B, A));
  expect(fromText.config.daemon.listen).toEqual([B]);
  await expect(fromPath.initiate('net')).resolves.toBeDefined();
  await fromPath.stop();
  await fromText.stop();

  const object = {
    daemon: { listen: [A], port: PORT, natt_port: PORT + 1 },
    connections: {
      demo: {
        local_addrs: [A],
        remote_addrs: [B],
        remote_port: PORT,
        local: { auth: 'psk', id: A },
        remote: { auth: 'psk', id: B },
        children: { net: { local_ts: ['10.201.0.0/24'], remote_ts: ['10.202.0.0/24'] } },
      },
    },
    secrets: { 'ike-demo': { id: [A, B], secret: 'ikelab-demo-secret' } },
  };
  const fromObject = await peer(object);
  expect(fromObject.config.connections[0]?.remoteAddrs).toEqual([B]);
  await fromObject.stop();

  const bad = { ...object, connections: { demo: { ...object.connections.demo, proposals: ['rot13-md4'] } } };
  const err = await startPeer(bad).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect(err).toMatchObject({ file: '<config object>', keyPath: 'connections.demo.proposals[0]', line: undefined });
  await expect(startPeer(bad, { name: 'peer-a' })).rejects.toThrow(/^peer-a: connections\.demo\.proposals\[0\]: expected/);
  await expect(startPeer(yaml(A, B).replace('port: 16100', 'port: many'))).rejects.toMatchObject({
    file: '<config text>',
    keyPath: 'daemon.port',
    line: 3,
  });
  await expect(startPeer(join(dir, 'missing.yaml'))).rejects.toMatchObject({ name: 'ConfigError', file: join(dir, 'missing.yaml') });
  await expect(startPeer(42 as never)).rejects.toThrow(TypeError);
});

test("log: a function receives charon's lines; 'silent' keeps events flowing", async () => {
  const lines: string[] = [];
  const a = await peer(yaml(A, B), { log: (line) => lines.push(line) });
  const b = await peer(yaml(B, A), { log: 'silent' });
  const events: string[] = [];
  b.on('ike.established', (e) => events.push(e.event));
  await a.initiate('net');
  expect(lines.some((l) => /\d\d\[ENC\] generating IKE_SA_INIT request 0 \[ SA KE No/.test(l))).toBe(true);
  expect(lines.some((l) => /\[IKE\] IKE_SA demo\[\d+\] established between/.test(l))).toBe(true);
  expect(events).toEqual(['ike.established']);
});

test('load resolves with the run summary, failure mix included; storms resolve with theirs; refusals are OpErrors', async () => {
  const [a, b] = await pair();
  await expect(a.storm({ kind: 'dpd' })).rejects.toThrow(OpError); // nothing established yet
  await expect(a.load({ child: 'net', count: 0 })).rejects.toThrow(OpError);

  const run = await a.load({ child: 'net', count: 12, rate: 200, mix: 'wrong-psk=25%', mixSeed: 7 });
  expect(run).toMatchObject({ done: true, count: 12, started: 12, established: 9, failed: 3, inFlight: 0 });
  expect(run.failures).toEqual({ AUTHENTICATION_FAILED: 3 });
  expect(run.mixPlanned).toEqual({ good: 9, 'wrong-psk': 3 });
  expect(run.mixAsPlanned).toEqual({ good: 9, 'wrong-psk': 3 });
  expect(run.setupMs?.p50).toBeGreaterThan(0);
  expect(a.listSas().filter((s) => s.state === 'ESTABLISHED')).toHaveLength(9);
  expect(b.listSas().filter((s) => s.state === 'ESTABLISHED')).toHaveLength(9);

  const before = new Set(a.listSas().flatMap((s) => s.children.map((c) => c.spiIn)));
  const rekeys = await a.storm({ kind: 'rekey', scope: 'child', rate: 100 });
  expect(rekeys).toMatchObject({ done: true, kind: 'rekey', count: 9, succeeded: 9, failed: 0 });
  // (the old CHILD_SAs may still be listed, REKEYED, until their DELETE exchange is done)
  const after = a.listSas().flatMap((s) => s.children.filter((c) => c.state === 'INSTALLED').map((c) => c.spiIn));
  expect(after).toHaveLength(9);
  for (const spi of after) expect(before.has(spi)).toBe(false);

  const dpd = await a.storm({ kind: 'dpd' });
  expect(dpd).toMatchObject({ done: true, kind: 'dpd', count: 9, succeeded: 9, failed: 0 });
  expect(dpd.latencyMs?.max).toBeGreaterThanOrEqual(0);
}, 30_000);

test('a load run still going when the peer stops rejects instead of holding the test', async () => {
  const [a] = await pair();
  const run = a.load({ child: 'net', count: 50, rate: 2 });
  await a.stop();
  await expect(run).rejects.toThrow(/stopped/);
});
