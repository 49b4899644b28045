// Per-group levels (charon's filelog { default = 1, enc = 2 }): filtering happens before any formatting, so a
// message function is not even called for a filtered record.
import { describe, expect, test, vi } from 'vitest';
import { levelTable, LOG_GROUPS } from '../../src/log/groups.js';
import { Logger, MemorySink } from '../../src/log/logger.js';

describe('levelTable', () => {
  test('default applies to every group; named groups override, case-insensitively', () => {
    const t = levelTable({ default: 1, enc: 2, NET: -1 });
    expect(t.IKE).toBe(1);
    expect(t.ENC).toBe(2);
    expect(t.NET).toBe(-1);
    expect(Object.keys(t).sort()).toEqual([...LOG_GROUPS].sort());
    expect(levelTable().CFG).toBe(1); // charon's default level
  });
});

describe('Logger', () => {
  test('a filtered message function is never called; an enabled one is called once for all sinks', () => {
    const a = new MemorySink();
    const b = new MemorySink();
    const log = new Logger({ default: 1, enc: 2 }, [a, b]);
    const filtered = vi.fn(() => 'expensive IKE detail');
    const shown = vi.fn(() => 'parsed IKE_AUTH request 1 [ IDi AUTH ]');
    log.log('IKE', 2, filtered);
    log.log('ENC', 2, shown);
    expect(filtered).not.toHaveBeenCalled();
    expect(shown).toHaveBeenCalledTimes(1);
    expect(a.lines()).toEqual(['00[ENC] parsed IKE_AUTH request 1 [ IDi AUTH ]']);
    expect(b.lines()).toEqual(a.lines());
  });

  test('level -1 silences a group, even level 0 (audit) lines', () => {
    const sink = new MemorySink();
    const log = new Logger({ default: 1, net: -1 }, [sink]);
    const fn = vi.fn(() => 'x');
    log.log('NET', 0, fn);
    log.log('IKE', 0, 'IKE_SA deleted');
    expect(fn).not.toHaveBeenCalled();
    expect(sink.lines()).toEqual(['00[IKE] IKE_SA deleted']);
  });

  test('without sinks nothing is formatted at all', () => {
    const log = new Logger({ default: 4 });
    const fn = vi.fn(() => 'x');
    log.log('IKE', 0, fn);
    expect(fn).not.toHaveBeenCalled();
  });

  test('setLevels takes effect for the next record', () => {
    const sink = new MemorySink();
    const log = new Logger({}, [sink]);
    log.log('ENC', 2, 'hidden');
    log.setLevels({ enc: 2 });
    log.log('ENC', 2, 'shown');
    expect(sink.lines()).toEqual(['00[ENC] shown']);
    expect(log.enabled('ENC', 3)).toBe(false);
  });

  test('a bound logger carries the IKE_SA context: thread, name and unique id', () => {
    const sink = new MemorySink();
    const log = new Logger({}, [sink]);
    const sa = log.with({ thread: 7, ikeName: 'bar', ikeId: 3 });
    sa.ike(1, 'initiating IKE_SA bar[3] to 10.98.0.1');
    sa.enc(2, () => 'filtered');
    sa.cfg(1, () => 'selected proposal: IKE:AES_CBC_256');
    expect(sink.lines()).toEqual(['07[IKE] initiating IKE_SA bar[3] to 10.98.0.1', '07[CFG] selected proposal: IKE:AES_CBC_256']);
    expect(sink.records[0]).toMatchObject({ group: 'IKE', level: 1, thread: 7, ctx: { ikeName: 'bar', ikeId: 3 } });
    expect(sink.records[0]!.time).toBeInstanceOf(Date);
    expect(sa.enabled('ENC', 2)).toBe(false);
  });
});
