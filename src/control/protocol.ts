// Control socket protocol: one JSON object per line each way. Request { id, cmd, args }, reply { id, ok, result | error }.
// Requests on one connection are answered in order. The daemon may send one last { id: 0, ok: false, error } line
// and close when a limit is hit (server.ts CONTROL_LIMITS: connections, request size, idle time, unread output).
import type { IkelabEvent } from '../log/events.js';

export interface ControlRequest {
  id: number;
  /** The verbs of the command table (commands/table.ts); the CLI client sends these. */
  cmd:
    | 'initiate'
    | 'terminate'
    | 'rekey'
    | 'initiate-wait'
    | 'terminate-wait'
    | 'rekey-wait'
    | 'fault'
    | 'ping'
    | 'ipsec-sa'
    | 'list-sas'
    | 'load'
    | 'load-status'
    | 'storm'
    | 'storm-status'
    | 'stats'
    | 'hello'
    | 'config'
    | 'watch';
  /** Option values; a list where a verb takes several (fault impair's items). */
  args: Record<string, string | string[] | boolean | undefined>;
}

export type ControlReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/**
 * A streaming verb (`watch`): after its reply { id, ok: true, result }, the daemon sends one { id, event } line per
 * event until the client closes the connection; the connection serves no further requests. The waiting verbs
 * (initiate-wait, terminate-wait, rekey-wait) end their stream themselves: a second reply { id, ok, result | error }
 * (result: the Outcome of src/ops/outcome.ts), then the daemon closes the connection. What they stream meanwhile
 * is args.stream: 'log' (the default, like swanctl --initiate: one { id, log } line per log line of the SAs
 * concerned, up to args.loglevel, default 1), 'events' ({ id, event } lines) or 'none'. A client that leaves more
 * than maxOutputBytes unread gets the { id: 0, ok: false, error } line and is closed.
 */
export interface ControlEventLine {
  id: number;
  event: IkelabEvent;
}

/** A log line as the charon sink has it, in parts: a client prints `[IKE] message` (swanctl) or more. */
export interface StreamedLogLine {
  /** ISO-8601, the record's wall time. */
  time: string;
  group: string;
  level: number;
  /** charon's thread column: ikelab's stable number per IKE_SA. */
  thread: number;
  ike?: string;
  ikeId?: number;
  message: string;
}

export interface ControlLogLine {
  id: number;
  log: StreamedLogLine;
}

/** What a stream sends between its first reply and its end (the transport adds the request's id). */
export type StreamItem = { event: IkelabEvent } | { log: StreamedLogLine };
