// charon's file_logger line format: "[time ][host charon: ]NN[GRP] message". The time format defaults to the
// one the reference logs use (strftime "%b %e %T"), so engineers' grep habits from vEdge keep working.
import { createWriteStream, writeSync, type WriteStream } from 'node:fs';
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

/** Batched sinks still open: one process 'exit' listener for all of them, however many loggers a process makes. */
const flushOnExit = new Set<CharonTextSink>();
process.once('exit', () => {
  for (const s of flushOnExit) s.flushSync();
});

/** Writes charon lines to a stream (stdout) or a file opened in append mode. */
export class CharonTextSink implements LogSink {
  /** Text only: events logged only to charon text sinks need not build their fields (Logger.event). */
  readonly ignoresFields = true;
  private readonly out: NodeJS.WritableStream;
  private readonly owned: WriteStream | undefined;
  /**
   * The charon time prefix of the last line and the wall-clock second it is for: a setup logs a dozen lines within
   * one second, and the local-time fields of a Date are costly to take apart each time. Local time changes only on
   * whole seconds (a time-zone offset is whole minutes), so one second's prefix is the same for all its lines.
   */
  private lastSecond = Number.NaN;
  private lastPrefix = '';
  /**
   * Lines for a file or the process's stdout, written as one chunk per event-loop turn: a setup logs two dozen lines
   * at level 1, and each write() costs a Writable round and a syscall or an iovec entry of its own (logging took
   * ~15 % of a setup's CPU at level 1, bench-setup). Other streams (a test's PassThrough, a control client) are
   * written line by line, as their readers expect. process 'exit' writes what is pending synchronously.
   */
  private readonly batch: boolean;
  private pending = '';
  private flushScheduled = false;

  constructor(
    target: NodeJS.WritableStream | string,
    private readonly opts: CharonSinkOptions = {},
  ) {
    if (typeof target === 'string') {
      this.owned = createWriteStream(target, { flags: 'a' });
      this.out = this.owned;
    } else {
      this.out = target;
    }
    this.batch = this.owned !== undefined || target === process.stdout;
    if (this.batch) flushOnExit.add(this);
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
    if (!this.batch) {
      this.out.write(line);
      return;
    }
    this.pending += line;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending === '' || this.owned?.closed) return;
    this.out.write(this.pending);
    this.pending = '';
  }

  /** At process exit: nothing asynchronous runs any more, so the pending lines go out with a synchronous write. */
  flushSync(): void {
    if (this.pending === '') return;
    // WriteStream has its fd once open (the type does not declare it); stdout is fd 1
    const fd = this.owned ? (this.owned as unknown as { fd: number | null }).fd : 1;
    if (typeof fd !== 'number' || this.owned?.closed) return; // a file not opened yet: nothing can be done
    try {
      writeSync(fd, this.pending);
    } catch {
      // the process is exiting; a log write that fails must not turn that into a crash
    }
    this.pending = '';
  }

  close(): Promise<void> {
    this.flush();
    flushOnExit.delete(this);
    return new Promise((resolve) => (this.owned ? this.owned.end(resolve) : resolve()));
  }
}
