// What a control command is, independent of the transport that carries it: a name, and a function from the
// daemon's operations (src/ops) and the request's arguments to a result (or a Promise of one). A command reports a
// failure by throwing (or rejecting); the transport turns that into its error reply (table.ts: runCommand).
import type { Logger } from '../../log/logger.js';
import type { Ops } from '../../ops/index.js';

/**
 * What the commands reach the daemon through: its operations (src/ops), nothing of the Daemon itself. A command
 * parses its arguments, calls an op, and shapes the reply.
 */
export type ControlApi = Ops;

export interface ControlContext {
  daemon: ControlApi;
  /** Where a command reports what is not its reply (`load`: a config file whose secrets others can read). */
  readonly log: Logger;
}

/** A request's arguments as the transport decoded them: option values, a list where a verb takes several. */
export type ControlArgs = Readonly<Record<string, unknown>>;

export interface ControlCommand {
  readonly name: string;
  /** The result (any JSON value), or a Promise of it; errors are thrown (or rejected) with the reply's message. */
  run(ctx: ControlContext, args: ControlArgs): unknown;
}

/** A string argument, or undefined (absent, or not a string). */
export function argStr(args: ControlArgs, k: string): string | undefined {
  const v = args[k];
  return typeof v === 'string' ? v : undefined;
}
