// Build the logger from the daemon's log settings (structurally typed: the logger knows nothing of config).
import { CharonTextSink, type TimeFormat } from './charon-sink.js';
import { LogFileError } from './log-file-error.js';
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

export { LogFileError };

/** Throws LogFileError when a log file cannot be opened (the files are opened here, synchronously). */
export function createLogger(s: LogSettings, stdout: NodeJS.WritableStream = process.stdout): Logger {
  const log = new Logger(s.levels);
  const opts = { timeFormat: s.timeFormat, syslogPrefix: s.syslogPrefix, hostname: s.hostname };
  const opening = (key: LogFileError['key'], path: string, open: (path: string) => void): void => {
    try {
      open(path);
    } catch (e) {
      throw LogFileError.of(key, path, e);
    }
  };
  if (s.stdout) log.addSink(new CharonTextSink(stdout, opts));
  if (s.file) opening('file', s.file, (p) => log.addSink(new CharonTextSink(p, opts)));
  if (s.json) opening('json', s.json, (p) => log.addSink(new PinoSink(p)));
  if (s.timeline) opening('timeline', s.timeline, (p) => attachTimeline(log, p));
  return log;
}
