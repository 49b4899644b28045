// charon's file_logger line: "[time ][host charon: ]NN[GRP] message" (strftime "%b %e %T" by default).
import { describe, expect, test } from 'vitest';
import { formatCharonLine, formatCharonTime } from '../../src/log/charon-sink.js';
import type { LogRecord } from '../../src/log/logger.js';

const rec = (over: Partial<LogRecord> = {}): LogRecord => ({
  time: new Date(2024, 10, 22, 10, 3, 24), // local time, as charon prints it
  group: 'IKE',
  level: 1,
  thread: 13,
  message: 'IKE_SA bar[1] established between 10.98.0.2[10.98.0.2]...10.98.0.1[10.98.0.1]',
  ...over,
});

describe('formatCharonLine', () => {
  test('default: charon time format, two-digit thread, group in brackets', () => {
    expect(formatCharonLine(rec())).toBe(
      'Nov 22 10:03:24 13[IKE] IKE_SA bar[1] established between 10.98.0.2[10.98.0.2]...10.98.0.1[10.98.0.1]',
    );
    expect(formatCharonLine(rec(), { timeFormat: 'charon' })).toBe(formatCharonLine(rec()));
  });

  test('%e pads the day with a space, %T pads hours, minutes and seconds with zeros', () => {
    expect(formatCharonTime(new Date(2024, 0, 2, 3, 4, 5))).toBe('Jan  2 03:04:05');
    expect(formatCharonTime(new Date(2024, 11, 31, 23, 59, 59))).toBe('Dec 31 23:59:59');
    expect(
      formatCharonLine(
        rec({ time: new Date(2024, 4, 9, 0, 0, 0), group: 'ENC', thread: 1, message: 'generating IKE_SA_INIT request 0 [ SA KE No ]' }),
      ),
    ).toBe('May  9 00:00:00 01[ENC] generating IKE_SA_INIT request 0 [ SA KE No ]');
  });

  test('thread ids: 0 prints as 00, ids above 99 keep two digits', () => {
    expect(formatCharonLine(rec({ thread: 0, group: 'NET' }), { timeFormat: 'none' })).toMatch(/^00\[NET\] /);
    expect(formatCharonLine(rec({ thread: 113 }), { timeFormat: 'none' })).toMatch(/^13\[IKE\] /);
  });

  test('time formats iso and none', () => {
    const r = rec();
    expect(formatCharonLine(r, { timeFormat: 'iso' })).toBe(`${r.time.toISOString()} 13[IKE] ${r.message}`);
    expect(formatCharonLine(r, { timeFormat: 'none' })).toBe(`13[IKE] ${r.message}`);
  });

  test('syslog prefix: "Mon DD HH:MM:SS host charon: " then the charon line without its own time', () => {
    expect(formatCharonLine(rec({ message: 'sending DPD request' }), { syslogPrefix: true, hostname: 'host' })).toBe(
      'Nov 22 10:03:24 host charon: 13[IKE] sending DPD request',
    );
    expect(formatCharonLine(rec({ message: 'x' }), { syslogPrefix: true, hostname: 'peer-a', timeFormat: 'iso' })).toBe(
      'Nov 22 10:03:24 peer-a charon: 13[IKE] x',
    );
    expect(formatCharonLine(rec({ message: 'x' }), { syslogPrefix: true })).toBe('Nov 22 10:03:24 ikelab charon: 13[IKE] x');
  });
});
