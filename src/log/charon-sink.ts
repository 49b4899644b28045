// charon's file_logger line format: "[time ][host charon: ]NN[GRP] message". The time format defaults to the
// one the reference logs use (strftime "%b %e %T"), so engineers' grep habits from vEdge keep working.
import { AppendFile } from './append-file.js';
import type { LogRecord, LogSink } from './logger.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

export type TimeFormat = 'charon' | 'iso' | 'none';

export interface CharonSinkOptions {
  timeFormat?: TimeFormat;
  /** "Mon DD HH:MM:SS host charon: " as syslog writes it. */
  syslogPrefix?: boolean;
  hostname?: string;
}

export function formatCharonTime(d: Date): string {
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function formatCharonLine(r: LogRecord, o: CharonSinkOptions = {}): string {
  let prefix = '';
  if (o.syslogPrefix) {
    const d = r.time;
    prefix = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${o.hostname ?? 'ikelab'} charon: `;
  } else if ((o.timeFormat ?? 'charon') === 'charon') {
    prefix = `${formatCharonTime(r.time)} `;
  } else if (o.timeFormat === 'iso') {
    prefix = `${r.time.toISOString()} `;
  }
  return `${prefix}${pad2(r.thread % 100)}[${r.group}] ${r.message}`;
}

/**
 * Writes charon lines to a stream (stdout) or a file opened in append mode. A file is written synchronously, a
 * line per write() (append-file.ts). It is also cheaper than a file stream, whose every write wakes a thread-pool
 * thread: 15 against 30-40 us of CPU per line on the project's VM.
 */
export class CharonTextSink implements LogSink {
  /** Text only: events logged only to charon text sinks need not build their fields (Logger.event). */
  readonly ignoresFields = true;
  private readonly out: NodeJS.WritableStream | undefined;
  private readonly file: AppendFile | undefined;
  /**
   * The charon time prefix of the last line and the wall-clock second it is for: a setup logs a dozen lines within
   * one second, and the local-time fields of a Date are costly to take apart each time. Local time changes only on
   * whole seconds (a time-zone offset is whole minutes), so one second's prefix is the same for all its lines.
   */
  private lastSecond = Number.NaN;
  private lastPrefix = '';

  constructor(
    target: NodeJS.WritableStream | string,
    private readonly opts: CharonSinkOptions = {},
  ) {
    if (typeof target === 'string') this.file = new AppendFile(target, 'log file');
    else this.out = target;
  }

  write(r: LogRecord): void {
    const o = this.opts;
    if (o.syslogPrefix || (o.timeFormat ?? 'charon') !== 'charon') {
      this.emit(`${formatCharonLine(r, o)}\n`);
      return;
    }
    const second = Math.floor(r.time.getTime() / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastPrefix = `${formatCharonTime(r.time)} `;
    }
    this.emit(`${this.lastPrefix}${pad2(r.thread % 100)}[${r.group}] ${r.message}\n`);
  }

  private emit(line: string): void {
    if (this.out) this.out.write(line);
    else this.file?.append(line);
  }

  close(): Promise<void> {
    this.file?.close();
    return Promise.resolve();
  }
}
