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

export function createLogger(s: LogSettings, stdout: NodeJS.WritableStream = process.stdout): Logger {
  const log = new Logger(s.levels);
  const opts = { timeFormat: s.timeFormat, syslogPrefix: s.syslogPrefix, hostname: s.hostname };
  if (s.stdout) log.addSink(new CharonTextSink(stdout, opts));
  if (s.file) log.addSink(new CharonTextSink(s.file, opts));
  if (s.json) log.addSink(new PinoSink(s.json));
  if (s.timeline) attachTimeline(log, s.timeline);
  return log;
}
