// The one logging API. Callers format their own events; the logger only filters by group/level (before any
// formatting work, like charon's bus) and fans out to sinks (charon text, pino JSON, in-memory for tests).
import type { EventFields, EventListener, IkelabEvent } from './events.js';
import { LOG_GROUPS, type LevelTable, type LogGroup, levelTable } from './groups.js';
import { type LineListener, LineListeners } from './line-listeners.js';

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
  /**
   * true: this sink never reads LogRecord.fields (a charon text sink), so an event logged only to sinks like it
   * need not build them. A sink that does not say may read them.
   */
  readonly ignoresFields?: boolean;
}

/** An event's fields, or how to build them: built only when a sink, line listener or event listener reads them. */
export type EventFieldsSource = EventFields | (() => EventFields);

export class Logger {
  private levels: LevelTable;
  private readonly sinks: LogSink[] = [];
  /** Sinks that may read LogRecord.fields (every sink but the charon text ones). */
  private fieldSinks = 0;
  private readonly listeners = new Set<EventListener>();
  /** Kept in step with the listeners' own levels (the logger recomputes `wanted` when one comes or goes). */
  private readonly lineListeners = new LineListeners(() => this.recompute());
  /**
   * Per group, the highest level any sink or line listener takes, kept in step by addSink, setLevels and the line
   * listeners coming and going: whether a line goes anywhere is one lookup, before its text or fields are built.
   */
  private wanted: LevelTable;
  /** The same for the sinks alone (-Infinity per group while there is no sink). */
  private toSinks: LevelTable;
  /** Run by close() after the sinks, e.g. to close what an event listener writes to (the timeline file). */
  private readonly closers: (() => void | Promise<void>)[] = [];
  /** Wall time of a record; the daemon points it at its Clock's wall time (tests: a fake clock). */
  private wallNow: () => number = Date.now;

  constructor(levels: Record<string, number> = {}, sinks: LogSink[] = []) {
    this.levels = levelTable(levels);
    this.wanted = this.toSinks = this.levels;
    for (const sink of sinks) this.addSink(sink);
    this.recompute();
  }

  /** Take timestamps from the injected clock (Clock.wallNow) instead of the host's. */
  useWallClock(wallNow: () => number): void {
    this.wallNow = wallNow;
  }

  addSink(s: LogSink): void {
    this.sinks.push(s);
    if (!s.ignoresFields) this.fieldSinks++;
    this.recompute();
  }

  setLevels(levels: Record<string, number>): void {
    this.levels = levelTable(levels);
    this.recompute();
  }

  /**
   * Whether a line of this group and level is wanted: the configured levels let it through (to the sinks), or a
   * line listener asked for its level. Callers check it before building what only that line needs.
   */
  enabled(group: LogGroup, level: number): boolean {
    return level <= this.wanted[group];
  }

  /**
   * Whether an event of this group and level with this charon line ('' none) would be read by anyone: an event
   * listener, a line listener, or a sink that reads fields. Callers check it before building an event's fields.
   */
  eventWanted(group: LogGroup, level: number, message: string | (() => string) = ''): boolean {
    if (this.listeners.size > 0) return true;
    if (message === '') return false;
    return this.lineListeners.wants(group, level) || (this.fieldSinks > 0 && level <= this.toSinks[group]);
  }

  log(
    group: LogGroup,
    level: number,
    message: string | (() => string),
    ctx?: LogContext,
    fields?: Readonly<Record<string, unknown>>,
  ): void {
    // one lookup for the common case of a line nobody takes (before its text is built)
    if (level > this.wanted[group]) return;
    const toSinks = level <= this.toSinks[group];
    const toListeners = this.lineListeners.wants(group, level);
    if (!toSinks && !toListeners) return;
    const text = typeof message === 'function' ? message() : message;
    const r: LogRecord = { time: new Date(this.wallNow()), group, level, thread: ctx?.thread ?? 0, message: text, ctx };
    if (fields) r.fields = fields;
    if (toSinks) for (const s of this.sinks) s.write(r);
    if (toListeners) this.lineListeners.deliver(r);
  }

  /** The per-group thresholds after a change of levels, sinks or line listeners. */
  private recompute(): void {
    const toSinks = {} as LevelTable;
    const wanted = {} as LevelTable;
    for (const g of LOG_GROUPS) {
      toSinks[g] = this.sinks.length > 0 ? this.levels[g] : Number.NEGATIVE_INFINITY;
      // enabled() has always followed the configured levels, with or without a sink (rate-limit.ts counts on it)
      wanted[g] = Math.max(this.levels[g], this.lineListeners.maxLevel(g));
    }
    this.toSinks = toSinks;
    this.wanted = wanted;
  }

  /**
   * Receive the log lines up to these levels ({ default: 1, enc: 2 }), whatever the sinks' levels, until the
   * returned function is called (line-listeners.ts). The record is the one the sinks get: the same text.
   */
  onLine(l: LineListener, levels: Record<string, number>): () => void {
    return this.lineListeners.add(l, levels);
  }

  /** Line listeners subscribed now (a stream that ended must leave none behind). */
  get lineListenerCount(): number {
    return this.lineListeners.size;
  }

  /**
   * A protocol event (events.ts) with the charon line that reports it: the line goes to the sinks when its
   * group/level is enabled (carrying the fields for the JSON sink); listeners get the event in every case.
   * message '' means the event has no charon line of its own.
   */
  event(group: LogGroup, level: number, message: string | (() => string), fields: EventFieldsSource, ctx?: LogContext): void {
    // the fields are built once, and only when someone reads them (no event listener, text sinks only: never)
    if (!this.eventWanted(group, level, message)) {
      if (message !== '') this.log(group, level, message, ctx);
      return;
    }
    const f = typeof fields === 'function' ? fields() : fields;
    if (message !== '') this.log(group, level, message, ctx, f);
    if (this.listeners.size === 0) return;
    const e: IkelabEvent = { time: new Date(this.wallNow()).toISOString(), ...f };
    if (e.ike === undefined && ctx?.ikeName !== undefined) e.ike = ctx.ikeName;
    if (e.ikeId === undefined && ctx?.ikeId !== undefined) e.ikeId = ctx.ikeId;
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // a listener (a control client, a test) must never break the protocol path that reported the event
      }
    }
  }

  /** Receive every event; returns the unsubscribe function. */
  onEvent(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** A view bound to one context (an IKE_SA), so tasks just call log.ike(1, '...'). */
  with(ctx: LogContext): BoundLogger {
    return new BoundLogger(this, ctx);
  }

  /** Also run this when the logger is closed. */
  onClose(fn: () => void | Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const s of this.sinks) await s.close?.();
    for (const c of this.closers.splice(0)) await c();
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
  event(group: LogGroup, level: number, message: string | (() => string), fields: EventFieldsSource): void {
    this.root.event(group, level, message, fields, this.ctx);
  }
  eventWanted(group: LogGroup, level: number, message: string | (() => string) = ''): boolean {
    return this.root.eventWanted(group, level, message);
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
