// The same events as structured JSON (pino) for machines: one object per line with the charon group, level,
// the IKE_SA name/unique id when known, and the message text as charon would print it. File output is written
// synchronously: a few lines per exchange, and none may be lost when the daemon exits.
import { pino, type Logger as Pino } from 'pino';
import type { LogRecord, LogSink } from './logger.js';

export class PinoSink implements LogSink {
  private readonly p: Pino;

  constructor(destination: 'stdout' | 'stderr' | string) {
    const dest =
      destination === 'stdout'
        ? pino.destination(1)
        : destination === 'stderr'
          ? pino.destination(2)
          : pino.destination({ dest: destination, append: true, sync: true, mkdir: true });
    this.p = pino({ base: { name: 'ikelab' }, level: 'trace', timestamp: pino.stdTimeFunctions.isoTime }, dest);
  }

  write(r: LogRecord): void {
    const fields: Record<string, unknown> = { group: r.group, charonLevel: r.level, thread: r.thread };
    if (r.ctx?.ikeName !== undefined) fields.ike = r.ctx.ikeName;
    if (r.ctx?.ikeId !== undefined) fields.ikeId = r.ctx.ikeId;
    // structured events (a fault firing) travel as their own fields next to the text
    if (r.fields) Object.assign(fields, r.fields);
    // charon level 0/1 are what an operator sees: info; 2+ are debug detail.
    if (r.level <= 1) this.p.info(fields, r.message);
    else this.p.debug(fields, r.message);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.p.flush(() => resolve()));
  }
}
