// `watch`: the structured events (src/log/events.ts) as they happen, streamed on the connection that asked until
// the client closes it. The first line is the usual reply ({ id, ok, result: { watching } }); every event after it is
// a line { id, event } (protocol.ts ControlEventLine). Filters: `events` (name prefixes: 'ike.', 'child.deleted')
// and `ike` (connection name). The scenario runner and `ikelab watch` are its clients.
//
// A streaming verb is not a ControlCommand (one request, one reply): it gets an emit function and hands back a
// close function; the transport (server.ts) owns the connection's limits, so a watcher that stops reading is cut
// off there, never here.
import { EVENT_NAMES, type IkelabEvent } from '../../log/events.js';
import type { StreamItem } from '../protocol.js';
import type { ControlArgs, ControlContext } from './command.js';

export interface StreamCommand {
  readonly name: string;
  /**
   * Starts the stream: validates args (throws with the reply's error), then calls emit for each item (an event, or
   * a log line of a waiting verb) until the returned close() is called. `result` is the first reply's result; `done`, when given, ends the stream: its
   * value (or error) is sent as a last reply and the connection closed (the waiting verbs, outcome.ts).
   */
  open(
    ctx: ControlContext,
    args: ControlArgs,
    emit: (item: StreamItem) => void,
  ): { result: unknown; close(): void; done?: Promise<unknown> };
}

/** The filter a watch request asks for; no prefixes means every event. */
export interface WatchFilter {
  events: string[];
  ike?: string;
}

/** args.events (a list, or one string with commas) and args.ike, checked: an unknown prefix is a typo to report. */
export function parseWatchFilter(args: ControlArgs): WatchFilter {
  const raw = args.events;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const events: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') throw new Error('watch: events must be event name prefixes (strings)');
    for (const p of item.split(',').map((s) => s.trim())) {
      if (!p) continue;
      // fail loudly: a filter that can never match would make a watcher (or a scenario) wait for nothing
      if (!EVENT_NAMES.some((n) => n.startsWith(p)))
        throw new Error(`watch: no event name starts with '${p}' (events: ${EVENT_NAMES.join(', ')})`);
      events.push(p);
    }
  }
  const ike = args.ike;
  if (ike !== undefined && typeof ike !== 'string') throw new Error('watch: ike must be a connection name');
  return { events, ...(ike ? { ike } : {}) };
}

export function watchMatches(f: WatchFilter, e: IkelabEvent): boolean {
  if (f.ike !== undefined && e.ike !== f.ike) return false;
  return f.events.length === 0 || f.events.some((p) => e.event.startsWith(p));
}

export const streamCommands: readonly StreamCommand[] = [
  {
    name: 'watch',
    open(ctx, args, emit) {
      const filter = parseWatchFilter(args);
      const off = ctx.log.onEvent((e) => {
        if (watchMatches(filter, e)) emit({ event: e });
      });
      return { result: { watching: filter }, close: off };
    },
  },
];
