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
 * (result: the Outcome of src/ops/outcome.ts), then the daemon closes the connection. A watcher that leaves
 * more than maxOutputBytes unread gets the { id: 0, ok: false, error } line and is closed.
 */
export interface ControlEventLine {
  id: number;
  event: IkelabEvent;
}
