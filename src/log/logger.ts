// The one logging API. Callers format their own events; the logger only filters by group/level (before any
// formatting work, like charon's bus) and fans out to sinks (charon text, pino JSON, in-memory for tests).
import { type LevelTable, type LogGroup, levelTable } from './groups.js';

/** Who is speaking: charon prints a worker thread id; we print a stable id per IKE_SA so one SA's lines group. */
export interface LogContext {
  thread?: number;
  ikeName?: string;
  ikeId?: number;
}

export interface LogRecord {
  time: Date;
  group: LogGroup;
  level: number;
  thread: number;
  message: string;
  ctx?: LogContext;
  /** Structured fields for machine sinks (the JSON sink merges them; text sinks ignore them), e.g. a fault event. */
  fields?: Readonly<Record<string, unknown>>;
}

export interface LogSink {
  write(r: LogRecord): void;
  close?(): void | Promise<void>;
}

export class Logger {
  private levels: LevelTable;
  private readonly sinks: LogSink[] = [];

  constructor(levels: Record<string, number> = {}, sinks: LogSink[] = []) {
    this.levels = levelTable(levels);
    this.sinks.push(...sinks);
  }

  addSink(s: LogSink): void {
    this.sinks.push(s);
  }

  setLevels(levels: Record<string, number>): void {
    this.levels = levelTable(levels);
  }

  enabled(group: LogGroup, level: number): boolean {
    return level <= this.levels[group];
  }

  log(
    group: LogGroup,
    level: number,
    message: string | (() => string),
    ctx?: LogContext,
    fields?: Readonly<Record<string, unknown>>,
  ): void {
    if (!this.enabled(group, level) || this.sinks.length === 0) return;
    const text = typeof message === 'function' ? message() : message;
    const r: LogRecord = { time: new Date(), group, level, thread: ctx?.thread ?? 0, message: text, ctx };
    if (fields) r.fields = fields;
    for (const s of this.sinks) s.write(r);
  }

  /** A view bound to one context (an IKE_SA), so tasks just call log.ike(1, '...'). */
  with(ctx: LogContext): BoundLogger {
    return new BoundLogger(this, ctx);
  }

  async close(): Promise<void> {
    for (const s of this.sinks) await s.close?.();
  }
}

export class BoundLogger {
  constructor(
    readonly root: Logger,
    readonly ctx: LogContext,
  ) {}
  log(group: LogGroup, level: number, message: string | (() => string), fields?: Readonly<Record<string, unknown>>): void {
    this.root.log(group, level, message, this.ctx, fields);
  }
  ike(level: number, m: string | (() => string)): void {
    this.log('IKE', level, m);
  }
  cfg(level: number, m: string | (() => string)): void {
    this.log('CFG', level, m);
  }
  enc(level: number, m: string | (() => string)): void {
    this.log('ENC', level, m);
  }
  net(level: number, m: string | (() => string)): void {
    this.log('NET', level, m);
  }
  chd(level: number, m: string | (() => string)): void {
    this.log('CHD', level, m);
  }
  knl(level: number, m: string | (() => string)): void {
    this.log('KNL', level, m);
  }
  esp(level: number, m: string | (() => string)): void {
    this.log('ESP', level, m);
  }
  enabled(group: LogGroup, level: number): boolean {
    return this.root.enabled(group, level);
  }
}

/** Collects records in memory: for tests and for the control socket's log tail. */
export class MemorySink implements LogSink {
  readonly records: LogRecord[] = [];
  write(r: LogRecord): void {
    this.records.push(r);
  }
  lines(): string[] {
    return this.records.map((r) => `${String(r.thread).padStart(2, '0')}[${r.group}] ${r.message}`);
  }
}
