// Work nobody asked for is not done (issue 16 item 2): an event's fields are built only when someone reads them
// (an event listener, a line listener, a sink that reads fields), a line above every level is not formatted, and
// the charon sink's time prefix is taken apart once per second. Each of these is decided from state the logger
// keeps in step with its sinks, levels and listeners, so a listener or sink that comes later gets everything.
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { CharonTextSink, formatCharonLine } from '../../src/log/charon-sink.js';
import type { EventFields, IkelabEvent } from '../../src/log/events.js';
import { type LogRecord, Logger, MemorySink } from '../../src/log/logger.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);

/** A logger with a charon text sink only (as the daemon's default), on a settable wall clock. */
function textLogger(levels: Record<string, number> = { default: 1 }) {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const log = new Logger(levels, [new CharonTextSink(out, { timeFormat: 'none' })]);
  const clock = { t: T0 };
  log.useWallClock(() => clock.t);
  return { log, clock, text: () => chunks.join(''), ike: log.with({ thread: 5, ikeName: 'demo', ikeId: 2 }) };
}

/** A field builder that counts how often it was called. */
function counted(f: EventFields): { build: () => EventFields; calls: () => number } {
  let n = 0;
  return {
    build: () => {
      n++;
      return { ...f };
    },
    calls: () => n,
  };
}

const sent: EventFields = { event: 'message.sent', exchange: 'IKE_AUTH', messageId: 1, size: 300 };

describe('event fields', () => {
  test('text sinks only, no listener: the line is printed, the fields are never built', () => {
    const { ike, text } = textLogger();
    const f = counted(sent);
    ike.event('NET', 1, 'sending packet: from 127.0.0.1[500] to 127.0.0.2[500] (300 bytes)', f.build);
    expect(f.calls()).toBe(0);
    expect(text()).toBe('05[NET] sending packet: from 127.0.0.1[500] to 127.0.0.2[500] (300 bytes)\n');
    expect(ike.eventWanted('NET', 1, 'x')).toBe(false);
  });

  test('an event listener attached later gets the events from then on, with their fields, and only while attached', () => {
    const { log, ike, text } = textLogger();
    const got: IkelabEvent[] = [];
    const before = counted(sent);
    ike.event('NET', 1, 'line one', before.build);
    const off = log.onEvent((e) => got.push(e));
    expect(ike.eventWanted('NET', 1)).toBe(true);
    const during = counted({ ...sent, messageId: 2 });
    ike.event('NET', 1, 'line two', during.build);
    // an event without a charon line of its own reaches the listener too
    ike.event('IKE', 1, '', { event: 'ike.destroyed', reason: 'test' });
    off();
    const after = counted({ ...sent, messageId: 3 });
    ike.event('NET', 1, 'line three', after.build);
    expect([before.calls(), during.calls(), after.calls()]).toEqual([0, 1, 0]);
    expect(got).toEqual([
      { ...sent, messageId: 2, time: new Date(T0).toISOString(), ike: 'demo', ikeId: 2 },
      { event: 'ike.destroyed', reason: 'test', time: new Date(T0).toISOString(), ike: 'demo', ikeId: 2 },
    ]);
    // the text is the same whoever listened
    expect(text()).toBe('05[NET] line one\n05[NET] line two\n05[NET] line three\n');
  });

  test('a line listener attached later gets the record with its fields; the text sink gets the same line', () => {
    const { log, ike, text } = textLogger({ default: 1 });
    const got: LogRecord[] = [];
    const off = log.onLine((r) => got.push(r), { default: 2 });
    const f = counted(sent);
    ike.event('NET', 2, 'a level-2 line for the listener only', f.build);
    ike.event('NET', 1, 'a level-1 line for both', f.build);
    off();
    ike.event('NET', 2, 'nobody', f.build);
    expect(f.calls()).toBe(2);
    expect(got.map((r) => [r.message, r.fields])).toEqual([
      ['a level-2 line for the listener only', sent],
      ['a level-1 line for both', sent],
    ]);
    expect(text()).toBe('05[NET] a level-1 line for both\n');
  });

  test('a sink that reads fields (JSON, memory), added later, gets them from then on', () => {
    const { log, ike } = textLogger();
    const f = counted(sent);
    ike.event('NET', 1, 'before', f.build);
    expect(f.calls()).toBe(0);
    const mem = new MemorySink();
    log.addSink(mem);
    ike.event('NET', 1, 'after', f.build);
    ike.event('NET', 2, 'filtered', f.build);
    expect(f.calls()).toBe(1);
    expect(mem.records.map((r) => [r.message, r.fields])).toEqual([['after', sent]]);
  });

  test('plain field objects still work, and a listener sees the same object contents as the JSON sink', () => {
    const mem = new MemorySink();
    const log = new Logger({ default: 1 }, [mem]);
    const got: IkelabEvent[] = [];
    log.onEvent((e) => got.push(e));
    log.event('IKE', 1, 'established', { event: 'ike.established', ike: 'x' });
    expect(mem.records[0]!.fields).toEqual({ event: 'ike.established', ike: 'x' });
    expect(got[0]).toMatchObject({ event: 'ike.established', ike: 'x' });
  });
});

describe('levels kept in step', () => {
  test('setLevels at runtime: lines formerly filtered are formatted and printed, and the reverse', () => {
    const { log, ike, text } = textLogger({ default: 1 });
    let formatted = 0;
    const line = () => `detail ${++formatted}`;
    ike.enc(2, line);
    expect(log.enabled('ENC', 2)).toBe(false);
    log.setLevels({ default: 1, enc: 2 });
    expect(log.enabled('ENC', 2)).toBe(true);
    ike.enc(2, line);
    log.setLevels({ default: 0 });
    ike.enc(1, line);
    expect(formatted).toBe(1);
    expect(text()).toBe('05[ENC] detail 1\n');
  });

  test('a logger whose sinks come later: enabled() follows the levels, lines reach the sink once it is there', () => {
    const log = new Logger({ default: 1 });
    let formatted = 0;
    log.log('IKE', 1, () => `x${++formatted}`);
    expect(formatted).toBe(0);
    expect(log.enabled('IKE', 1)).toBe(true);
    const mem = new MemorySink();
    log.addSink(mem);
    log.log('IKE', 1, () => `x${++formatted}`);
    expect(mem.records.map((r) => r.message)).toEqual(['x1']);
  });
});

describe('charon text sink', () => {
  test('the time prefix of each line is the one formatCharonLine prints, across second, minute and day changes', () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const sink = new CharonTextSink(out);
    const times = [
      T0,
      T0 + 1,
      T0 + 999,
      T0 + 1000,
      T0 + 54_999,
      T0 + 55_000,
      // local midnight of the next day, just before and at it
      new Date(2024, 0, 3, 0, 0, 0).getTime() - 1,
      new Date(2024, 0, 3, 0, 0, 0).getTime(),
      T0 - 1,
      T0,
    ];
    const expected: string[] = [];
    times.forEach((t, i) => {
      const r: LogRecord = { time: new Date(t), group: 'IKE', level: 1, thread: 3 + i, message: `line ${i}` };
      sink.write(r);
      expected.push(`${formatCharonLine(r)}\n`);
    });
    expect(chunks.join('')).toBe(expected.join(''));
  });

  test('the other time formats are unchanged', () => {
    for (const opts of [{ timeFormat: 'iso' as const }, { timeFormat: 'none' as const }, { syslogPrefix: true, hostname: 'h' }]) {
      const out = new PassThrough();
      const chunks: string[] = [];
      out.on('data', (c: Buffer) => chunks.push(c.toString()));
      const sink = new CharonTextSink(out, opts);
      const r: LogRecord = { time: new Date(T0), group: 'CFG', level: 1, thread: 123, message: 'm' };
      sink.write(r);
      sink.write(r);
      expect(chunks.join('')).toBe(`${formatCharonLine(r, opts)}\n`.repeat(2));
    }
  });
});
