// Build the logger from the daemon's log settings (structurally typed: the logger knows nothing of config).
import { CharonTextSink, type TimeFormat } from './charon-sink.js';
import { Logger } from './logger.js';
import { PinoSink } from './pino-sink.js';
import { attachTimeline } from './timeline.js';

export interface LogSettings {
  stdout: boolean;
  file?: string;
  json?: string;
  /** daemon.log.timeline: the message events as JSON lines (timeline.ts). */
  timeline?: string;
  syslogPrefix: boolean;
  hostname?: string;
  timeFormat: TimeFormat;
  levels: Record<string, number>;
}

/** A log file of the settings that cannot be opened: which key (daemon.log.KEY), the path, and the errno code. */
export class LogFileError extends Error {
  constructor(
    readonly key: 'file' | 'json' | 'timeline',
    readonly path: string,
    readonly code: string,
  ) {
    super(`daemon.log.${key}: cannot open '${path}' for appending (${code})`);
  }
}

/** Throws LogFileError when a log file cannot be opened (the files are opened here, synchronously). */
export function createLogger(s: LogSettings, stdout: NodeJS.WritableStream = process.stdout): Logger {
  const log = new Logger(s.levels);
  const opts = { timeFormat: s.timeFormat, syslogPrefix: s.syslogPrefix, hostname: s.hostname };
  const opening = <T>(key: LogFileError['key'], path: string, make: () => T): T => {
    try {
      return make();
    } catch (e) {
      throw new LogFileError(key, path, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
    }
  };
  if (s.stdout) log.addSink(new CharonTextSink(stdout, opts));
  if (s.file) {
    const file = s.file;
    log.addSink(opening('file', file, () => new CharonTextSink(file, opts)));
  }
  if (s.json) log.addSink(new PinoSink(s.json));
  if (s.timeline) attachTimeline(log, s.timeline);
  return log;
}
