// daemon.log.timeline: the message events of an IKE_SA as JSON lines. The exchanges are asserted from the file
// alone: whoever reads it gets neither the charon text nor the events in memory.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { Logger } from '../../src/log/logger.js';
import { createLogger } from '../../src/log/setup.js';
import { attachTimeline, TimelineFile, type TimelineEntry } from '../../src/log/timeline.js';
import { makePair, type Pair } from '../helpers/peers.js';

let dir: string;
let pair: Pair | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-timeline-'));
});
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const read = (file: string): TimelineEntry[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as TimelineEntry);

const arrow = (e: TimelineEntry) => `${e.direction} ${e.exchange} ${e.request ? 'request' : 'response'} ${e.messageId}`;

describe('the timeline of an IKE_SA', () => {
  test('IKE_SA_INIT, IKE_AUTH and an INFORMATIONAL DELETE, one line per datagram', async () => {
    const file = join(dir, 'a.timeline');
    const p = makePair();
    pair = p;
    attachTimeline(p.a.log, file);
    p.establish();
    const ikeId = p.a.sa().uniqueId;
    expect(p.a.daemon.ops.terminate('demo')).toBe(1);
    p.deliverAll();
    expect(p.a.sas()).toHaveLength(0);
    await p.a.log.close();

    const lines = read(file);
    expect(lines.map(arrow)).toEqual([
      'out IKE_SA_INIT request 0',
      'in IKE_SA_INIT response 0',
      'out IKE_AUTH request 1',
      'in IKE_AUTH response 1',
      'out INFORMATIONAL request 2',
      'in INFORMATIONAL response 2',
    ]);
    expect(lines.map((l) => l.event)).toEqual([
      'message.sent',
      'message.received',
      'message.sent',
      'message.received',
      'message.sent',
      'message.received',
    ]);
    // sizes are the datagrams A sent and received, in order
    const wire = p.sent.filter((q) => q.from === 'A' || q.to === 'A').map((q) => q.data.length);
    expect(lines.map((l) => l.size)).toEqual(wire);
    for (const l of lines) {
      expect(l).toMatchObject({ local: '127.0.0.1[15000]', peer: '127.0.0.2[15000]', ike: 'demo', ikeId });
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
    }
    expect(lines[0]!.payloads?.slice(0, 3)).toEqual(['SA', 'KE', 'No']);
    expect(lines[2]!.payloads).toContain('AUTH');
    expect(lines[4]!.payloads).toEqual(['D']);
    expect(lines[5]!.payloads).toEqual([]);
    expect(lines[0]!.notifies).toContain('NAT_DETECTION_SOURCE_IP');
    // the key order of a line is fixed, whatever the event carried
    expect(Object.keys(lines[0]!)).toEqual([
      'time',
      'event',
      'direction',
      'local',
      'peer',
      'exchange',
      'request',
      'messageId',
      'payloads',
      'notifies',
      'size',
      'ike',
      'ikeId',
    ]);
  });

  test('a retransmit is its own line, then the datagram', async () => {
    const file = join(dir, 'a.timeline');
    const p = makePair();
    pair = p;
    attachTimeline(p.a.log, file);
    p.initiate();
    p.drop(() => true);
    p.clock.advance(1000);
    await p.a.log.close();
    const lines = read(file);
    expect(lines.map((l) => `${l.event} ${l.exchange} ${l.messageId}${l.n !== undefined ? ` n=${l.n}` : ''}`)).toEqual([
      'message.sent IKE_SA_INIT 0',
      'message.retransmitted IKE_SA_INIT 0 n=1',
      'message.sent IKE_SA_INIT 0',
    ]);
    expect(lines[2]!.size).toBe(lines[0]!.size);
  });

  test('only message events are written, and nothing after the logger is closed', async () => {
    const file = join(dir, 't.jsonl');
    const log = new Logger({ default: 1 });
    attachTimeline(log, file);
    log.event('IKE', 1, '', { event: 'ike.established', ike: 'x' });
    log.event('NET', 1, '', { event: 'message.sent', exchange: 'INFORMATIONAL', messageId: 5, size: 80 });
    await log.close();
    log.event('NET', 1, '', { event: 'message.sent', exchange: 'INFORMATIONAL', messageId: 6, size: 80 });
    expect(read(file).map((l) => [l.event, l.messageId])).toEqual([['message.sent', 5]]);
  });

  test('a failing timeline file (ENOSPC) is reported once on stderr and never throws into the caller', async () => {
    if (!existsSync('/dev/full')) return; // Linux only; CI runs on Linux
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (errors.push(String(c)), true));
    try {
      const log = new Logger({ default: 1 });
      const t = attachTimeline(log, '/dev/full');
      const sent = { event: 'message.sent', exchange: 'INFORMATIONAL', messageId: 5, size: 80 } as const;
      // the logger shields IKE from a throwing listener, so the file itself is asked too
      expect(() => t.write({ time: new Date(0).toISOString(), ...sent })).not.toThrow();
      log.event('NET', 1, '', sent);
      log.event('NET', 1, '', { ...sent, messageId: 6 });
      await log.close();
    } finally {
      spy.mockRestore();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^ikelab: writing the timeline file failed, no more lines go to it: ENOSPC/);
  });

  test('appends to an existing file', async () => {
    const file = join(dir, 't.jsonl');
    for (const mid of [1, 2]) {
      const log = new Logger({ default: 1 });
      attachTimeline(log, file);
      log.event('NET', 1, '', { event: 'message.received', messageId: mid });
      await log.close();
    }
    expect(read(file).map((l) => l.messageId)).toEqual([1, 2]);
  });
});

describe('daemon.log.timeline', () => {
  const yaml = (path: string) => `daemon:\n  log:\n    stdout: false\n    timeline: ${JSON.stringify(path)}\n`;

  test('createLogger writes the timeline named in the config', async () => {
    const file = join(dir, 'cfg.timeline');
    const cfg = parseConfig(yaml(file), 'ikelab.yaml');
    expect(cfg.daemon.log.timeline).toBe(file);
    const log = createLogger(cfg.daemon.log);
    log.event('NET', 1, '', { event: 'message.sent', exchange: 'IKE_SA_INIT', messageId: 0 });
    await log.close();
    expect(read(file).map((l) => l.exchange)).toEqual(['IKE_SA_INIT']);
  });

  test('a missing directory is a config error naming file, key and line', () => {
    const missing = join(dir, 'no', 'such', 'dir', 'x.timeline');
    let err: unknown;
    try {
      parseConfig(yaml(missing), 'ikelab.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect([e.file, e.keyPath, e.line]).toEqual(['ikelab.yaml', 'daemon.log.timeline', 4]);
    expect(e.message).toContain('expected a file path in an existing directory');
    expect(e.message).toContain(join(dir, 'no', 'such', 'dir'));
  });

  test('daemon.log.file gets the same check (its stream would otherwise crash the daemon on the first line)', () => {
    const missing = join(dir, 'gone', 'ikelab.log');
    expect(() => parseConfig(`daemon:\n  log: { stdout: false, file: ${JSON.stringify(missing)} }\n`, 'ikelab.yaml')).toThrow(
      /^ikelab\.yaml: daemon\.log\.file: expected a file path in an existing directory/,
    );
    const ok = join(dir, 'ikelab.log');
    expect(parseConfig(`daemon:\n  log: { file: ${JSON.stringify(ok)} }\n`, 'ikelab.yaml').daemon.log.file).toBe(ok);
  });

  test('a file that cannot be opened fails when the logger is made, with the path and no stack', () => {
    // a directory where the file should be: the open fails though its parent exists
    expect(() => new TimelineFile(dir)).toThrow(`daemon.log.timeline: cannot open ${dir} for appending (EISDIR)`);
  });

  test('not a string: the usual key error', () => {
    expect(() => parseConfig('daemon:\n  log: { timeline: [a] }\n', 'ikelab.yaml')).toThrow(/daemon\.log\.timeline: expected a file path/);
  });
});
