// daemon.log.timeline: one JSON line per IKE message an IKE_SA sent, received or retransmitted, from the message
// events (events.ts), whatever the log levels are. A sequence diagram of every exchange, grep- and jq-able, without
// parsing charon text. Written synchronously through one descriptor (append-file.ts): a line per datagram is little,
// and none may be lost when the daemon exits or a test reads the file right after an exchange.
import { AppendFile } from './append-file.js';
import { LogFileError } from './log-file-error.js';
import type { EventName, IkelabEvent } from './events.js';
import type { Logger } from './logger.js';

/** The events the timeline records. */
const TIMELINE_EVENTS: ReadonlySet<EventName> = new Set<EventName>(['message.sent', 'message.received', 'message.retransmitted']);

/**
 * One line of the file. `event` tells a retransmit notice (n: its number) from the datagram itself, which follows
 * it as message.sent; fields an event does not have are left out.
 */
export interface TimelineEntry {
  time: string;
  event: string;
  direction?: 'in' | 'out';
  local?: string;
  peer?: string;
  exchange?: string;
  request?: boolean;
  messageId?: number;
  payloads?: string[];
  notifies?: string[];
  size?: number;
  n?: number;
  ike?: string;
  ikeId?: number;
}

export function timelineEntry(e: IkelabEvent): TimelineEntry {
  // a fixed key order, so lines of one kind line up for a reader
  return {
    time: e.time,
    event: e.event,
    direction: e.direction,
    local: e.local,
    peer: e.peer,
    exchange: e.exchange,
    request: e.request,
    messageId: e.messageId,
    payloads: e.payloads,
    notifies: e.notifies,
    size: e.size,
    n: typeof e.n === 'number' ? e.n : undefined,
    ike: e.ike,
    ikeId: e.ikeId,
  };
}

export class TimelineFile {
  private readonly file: AppendFile;

  /** Opens (creates, appends to) the file now: a path that cannot be written fails here, with the path named. */
  constructor(readonly path: string) {
    try {
      this.file = new AppendFile(path, 'timeline file', 0o640);
    } catch (e) {
      throw LogFileError.of('timeline', path, e);
    }
  }

  /** An event listener (Logger.onEvent): writes the message events, ignores the others. A full disk never throws. */
  readonly write = (e: IkelabEvent): void => {
    if (!TIMELINE_EVENTS.has(e.event)) return;
    this.file.append(`${JSON.stringify(timelineEntry(e))}\n`);
  };

  close(): void {
    this.file.close();
  }
}

/** Record a logger's message events in a timeline file; closed with the logger. */
export function attachTimeline(log: Logger, path: string): TimelineFile {
  const t = new TimelineFile(path);
  const off = log.onEvent(t.write);
  log.onClose(() => {
    off();
    t.close();
  });
  return t;
}
