// What a control command is, independent of the transport that carries it: a name, and a function from the
// daemon-facing API and the request's arguments to a result (or a Promise of one). A command reports a failure by
// throwing (or rejecting); the transport turns that into its error reply (table.ts: runCommand).
import type { Daemon } from '../../daemon.js';
import type { Logger } from '../../log/logger.js';

/** The part of `Daemon` the commands use; a command reaches the daemon through this only. */
export type ControlApi = Pick<
  Daemon,
  | 'initiate'
  | 'initiateMany'
  | 'terminate'
  | 'rekey'
  | 'faults'
  | 'setFault'
  | 'listSas'
  | 'ipsecSaView'
  | 'ping'
  | 'stats'
  | 'config'
  | 'reload'
>;

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
