// Logger.onLine: a removable listener for the log lines, with levels of its own (charon's bus gives a vici client's
// logger the level it asked for): it gets the very record the sinks get, lines above the sinks' levels while it
// listens (and only then: the cost of formatting them ends with the subscription), never breaks the caller.
import { describe, expect, test } from 'vitest';
import { formatCharonLine } from '../../src/log/charon-sink.js';
import { type LogRecord, Logger, MemorySink } from '../../src/log/logger.js';

function setup(levels: Record<string, number> = { default: 1 }) {
  const sink = new MemorySink();
  const log = new Logger(levels, [sink]);
  log.useWallClock(() => Date.UTC(2024, 0, 2, 3, 4, 5));
  return { sink, log, ike: log.with({ thread: 7, ikeName: 'demo', ikeId: 3 }) };
}

describe('Logger.onLine', () => {
  test('gets the record the sinks get: the same text, group, level, thread and IKE_SA', () => {
    const { sink, log, ike } = setup();
    const got: LogRecord[] = [];
    const off = log.onLine((r) => got.push(r), { default: 1 });
    ike.ike(1, 'initiating IKE_SA demo[3] to 192.0.2.1');
    ike.enc(1, () => 'generating IKE_SA_INIT request 0 [ SA KE No ]');
    off();
    expect(got).toEqual(sink.records);
    expect(got[0]).toBe(sink.records[0]);
    expect(got.map((r) => formatCharonLine(r, { timeFormat: 'none' }))).toEqual([
      '07[IKE] initiating IKE_SA demo[3] to 192.0.2.1',
      '07[ENC] generating IKE_SA_INIT request 0 [ SA KE No ]',
    ]);
    expect(got[0]!.ctx).toMatchObject({ ikeName: 'demo', ikeId: 3 });
  });

  test("its own levels: lines above the sinks' while it listens, and nothing above its own", () => {
    const { sink, log, ike } = setup({ default: 1 });
    const got: string[] = [];
    expect(log.enabled('ENC', 2)).toBe(false);
    const off = log.onLine((r) => got.push(`${r.group}${r.level} ${r.message}`), { default: 0, enc: 2 });
    expect(log.enabled('ENC', 2)).toBe(true);
    expect(log.enabled('ENC', 3)).toBe(false);
    expect(log.enabled('IKE', 1)).toBe(true); // the sinks still want it
    ike.enc(2, 'enc two');
    ike.enc(3, 'enc three');
    ike.ike(1, 'ike one');
    ike.ike(0, 'ike zero');
    expect(got).toEqual(['ENC2 enc two', 'IKE0 ike zero']);
    // the sinks keep their own levels
    expect(sink.records.map((r) => r.message)).toEqual(['ike one', 'ike zero']);
    off();
    expect(log.enabled('ENC', 2)).toBe(false);
    // once it is gone, a line above the sinks' levels is not even formatted
    let formatted = 0;
    ike.enc(2, () => `x${++formatted}`);
    expect(formatted).toBe(0);
    expect(got).toHaveLength(2);
  });

  test('a logger without sinks formats lines for a listener only', () => {
    const log = new Logger({ default: 1 });
    const got: string[] = [];
    log.log('IKE', 1, 'nobody');
    const off = log.onLine((r) => got.push(r.message), { default: 1 });
    log.log('IKE', 1, 'someone');
    off();
    log.log('IKE', 1, 'nobody again');
    expect(got).toEqual(['someone']);
  });

  test('-1 silences a listener; the highest level any listener asked for counts', () => {
    const { log } = setup({ default: 0 });
    const offSilent = log.onLine(() => {}, { default: -1 });
    expect(log.enabled('IKE', 1)).toBe(false);
    const offTwo = log.onLine(() => {}, { default: 2 });
    const offOne = log.onLine(() => {}, { default: 1 });
    expect(log.enabled('IKE', 2)).toBe(true);
    offTwo();
    expect(log.enabled('IKE', 2)).toBe(false);
    expect(log.enabled('IKE', 1)).toBe(true);
    offOne();
    offSilent();
    expect(log.enabled('IKE', 1)).toBe(false);
    expect(log.lineListenerCount).toBe(0);
  });

  test('removal: each subscription on its own, twice is harmless; the count says what is left', () => {
    const { log, ike } = setup();
    const got: string[] = [];
    const l = (r: LogRecord) => got.push(r.message);
    const a = log.onLine(l, { default: 1 });
    const b = log.onLine(l, { default: 1 });
    expect(log.lineListenerCount).toBe(2);
    ike.ike(1, 'both');
    a();
    a();
    expect(log.lineListenerCount).toBe(1);
    ike.ike(1, 'one');
    b();
    ike.ike(1, 'none');
    expect(got).toEqual(['both', 'both', 'one']);
    expect(log.lineListenerCount).toBe(0);
  });

  test('a listener that throws breaks neither the caller, the sinks nor the other listeners', () => {
    const { sink, log, ike } = setup();
    const got: string[] = [];
    log.onLine(
      () => {
        throw new Error('client gone');
      },
      { default: 1 },
    );
    log.onLine((r) => got.push(r.message), { default: 1 });
    expect(() => ike.ike(1, 'still here')).not.toThrow();
    expect(got).toEqual(['still here']);
    expect(sink.records.map((r) => r.message)).toEqual(['still here']);
  });

  test('a listener added by a listener gets the next line, not the current one', () => {
    const { log, ike } = setup();
    const late: string[] = [];
    log.onLine(
      () => {
        if (log.lineListenerCount === 1) log.onLine((r) => late.push(r.message), { default: 1 });
      },
      { default: 1 },
    );
    ike.ike(1, 'first');
    ike.ike(1, 'second');
    expect(late).toEqual(['second']);
  });
});
