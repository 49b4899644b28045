// Regression tests for bugs the in-process protocol tests found (test/ike/KNOWN_BUGS.md has the analysis):
// half-open timeout, INITIAL_CONTACT, response exchange type, syslog day padding, pino flush, control input
// validation, initiator SPI from the injected random source.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ControlServer } from '../../src/control/server.js';
import { Daemon } from '../../src/daemon.js';
import { protect } from '../../src/ike/message-protect.js';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import { formatCharonLine } from '../../src/log/charon-sink.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { PinoSink } from '../../src/log/pino-sink.js';
import { ManualClock } from '../../src/util/timer-queue.js';
import { ExchangeType, PayloadType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/message.js';
import type { NoncePayload } from '../../src/wire/types.js';
import { is, makePair, peerYaml, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

// KNOWN_BUGS.md #2
test('a half-open IKE_SA on the responder is destroyed after 30 s', () => {
  const p = (pair = makePair());
  p.dropAlways(is.exchange('IKE_AUTH'));
  p.initiate();
  p.run(10_000);
  expect(p.a.daemon.ops.listSas()).toEqual([]);
  expect(p.b.daemon.ops.listSas().map((s) => s.state)).toEqual(['CONNECTING']);
  p.run(25_000); // t = 35 s
  expect(p.b.daemon.ops.listSas()).toEqual([]);
  expect(p.b.daemon.ops.stats()).toMatchObject({ sas: 0, timers: 0 });
});

// KNOWN_BUGS.md #3
test('INITIAL_CONTACT: the responder deletes its older IKE_SA with the same peer', () => {
  const p = (pair = makePair());
  p.establish();
  const old = p.b.sa();
  p.a.sa().destroy(); // A loses its state (restart) and connects again
  p.establish();
  expect(
    p.b.sink
      .lines()
      .filter((l) => l.includes('parsed IKE_AUTH request 1'))
      .at(-1),
  ).toContain('N(INIT_CONTACT)');
  expect(old.state).toBe('DESTROYING');
  expect(p.b.sas().map((s) => s.uniqueId)).toEqual([2]);
  expect(p.b.children()).toHaveLength(1);
});

test("unique: never keeps the older IKE_SA even on INITIAL_CONTACT (charon's semantics; found by bench-scale)", () => {
  const p = (pair = makePair({ b: { extraConnection: '    unique: never\n' } }));
  p.establish();
  const old = p.b.sa();
  p.a.sa().destroy();
  p.establish();
  expect(
    p.b.sink
      .lines()
      .filter((l) => l.includes('parsed IKE_AUTH request 1'))
      .at(-1),
  ).toContain('N(INIT_CONTACT)');
  expect(old.state).toBe('ESTABLISHED');
  expect(p.b.sas()).toHaveLength(2);
});

test('unique: replace replaces the older IKE_SA with the same peer even without INITIAL_CONTACT', () => {
  const p = (pair = makePair({ b: { extraConnection: '    unique: replace\n' } }));
  p.establish();
  const old = p.b.sa();
  p.a.daemon.ops.initiateMany('demo', 'net', 1, 0); // a second IKE_SA while the first is up: no INITIAL_CONTACT
  p.run(10, 1);
  expect(
    p.b.sink
      .lines()
      .filter((l) => l.includes('parsed IKE_AUTH request 1'))
      .at(-1),
  ).not.toContain('N(INIT_CONTACT)');
  expect(old.state).toBe('DESTROYING');
  expect(p.b.sas()).toHaveLength(1);
});

// KNOWN_BUGS.md #4
test('a response of another exchange type than the request is not accepted', () => {
  const p = (pair = makePair());
  p.establish();
  const sa = p.a.sa();
  sa.manager.queue(new IkeDpd(sa, true));
  sa.manager.initiate();
  p.deliverNext();
  const [real] = p.hold(is.responseFrom('B'));
  const wrong = protect(p.b.sa(), ExchangeType.CREATE_CHILD_SA, 2, true, []);
  p.deliver({ ...real!, data: wrong });
  expect(p.a.sink.lines()).toContain('01[IKE] received CREATE_CHILD_SA response, but expected INFORMATIONAL');
  expect(sa.state).toBe('DESTROYING');
});

// KNOWN_BUGS.md #5
test('syslog prefix pads the day with a space (RFC 3164 4.1.2)', () => {
  const r = { time: new Date(2024, 7, 7, 9, 5, 3), group: 'IKE' as const, level: 1, thread: 13, message: 'x' };
  expect(formatCharonLine(r, { syslogPrefix: true, hostname: 'host' })).toBe('Aug  7 09:05:03 host charon: 13[IKE] x');
});

// KNOWN_BUGS.md #6
test('PinoSink.close() resolves only once every line is in the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ikelab-pino-close-'));
  try {
    const file = join(dir, 'ikelab.json');
    const sink = new PinoSink(file);
    sink.write({ time: new Date(), group: 'IKE', level: 0, thread: 1, message: 'IKE_SA deleted' });
    await sink.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ group: 'IKE', msg: 'IKE_SA deleted' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// KNOWN_BUGS.md #7
test('a control request that is JSON but not an object gets an error reply', async () => {
  const daemon = new Daemon(parseConfig(peerYaml('A'), 'demo-a.yaml'), {
    log: new Logger({}, [new MemorySink()]),
    clock: new ManualClock(),
    sendIke: () => {},
  });
  const server = new ControlServer(daemon, '/nonexistent/ctl.sock');
  expect(() => server.handle('null')).not.toThrow();
  expect(await server.handle('null')).toEqual({ id: 0, ok: false, error: expect.stringContaining('JSON object') });
  expect(await server.handle('{"id":1,"cmd":"list-sas","args":null}')).toEqual({ id: 1, ok: true, result: [] });
  await daemon.stop();
});

// DH key pairs still come from OpenSSL's own RNG, so only SPIs and nonces follow the injected source.
// KNOWN_BUGS.md #8
test('two runs with the same seeded RandomSource use the same initiator SPI and nonce', () => {
  const one = makePair();
  one.initiate();
  const two = makePair();
  two.initiate();
  try {
    expect(two.queue[0]!.header.spiI.equals(one.queue[0]!.header.spiI)).toBe(true);
    const nonce = (d: Buffer) => {
      const m = decodeMessage(d);
      if (!m.ok) throw m.error;
      return (m.value.payloads.find((p) => p.type === PayloadType.NONCE) as NoncePayload).data;
    };
    expect(nonce(two.queue[0]!.data).equals(nonce(one.queue[0]!.data))).toBe(true);
    expect(two.queue[0]!.data.equals(one.queue[0]!.data)).toBe(false); // the KE differs (OpenSSL's RNG)
  } finally {
    void one.stop();
    void two.stop();
  }
});
