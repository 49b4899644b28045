// The command table: every verb of the control API by name, built from the families' modules, and the one
// transport-neutral way to run a request against it. A transport (server.ts: JSON lines on a Unix socket) parses
// its requests, applies its limits, and calls runCommand; a new verb is a ControlCommand in one of the families
// (or a new family listed here), a new transport a new caller of runCommand.
import type { ControlArgs, ControlCommand, ControlContext } from './command.js';
import { configCommands } from './config.js';
import { faultCommands } from './faults.js';
import { helloCommands } from './hello.js';
import { lifecycleCommands } from './lifecycle.js';
import { loadCommands } from './load.js';
import { outcomeCommands } from './outcome.js';
import { saCommands } from './sas.js';
import { stormCommands } from './storm.js';
import { trafficCommands } from './traffic.js';
import { type StreamCommand, streamCommands } from './watch.js';

export type CommandTable = ReadonlyMap<string, ControlCommand>;

/** A reply without its transport's framing (the JSON server adds the request's id). */
export type CommandOutcome = { ok: true; result: unknown } | { ok: false; error: string };

/** name -> command; a name given twice is a programming error. */
export function commandTable(...families: readonly (readonly ControlCommand[])[]): CommandTable {
  const table = new Map<string, ControlCommand>();
  for (const c of families.flat()) {
    if (table.has(c.name)) throw new Error(`control command '${c.name}' defined twice`);
    table.set(c.name, c);
  }
  return table;
}

/** The daemon's control API. */
export const CONTROL_COMMANDS: CommandTable = commandTable(
  helloCommands,
  lifecycleCommands,
  loadCommands,
  stormCommands,
  saCommands,
  faultCommands,
  trafficCommands,
  configCommands,
);

/** Verbs that stream on their connection after the first reply (watch.ts); the transport serves them itself. */
export const STREAM_COMMANDS: ReadonlyMap<string, StreamCommand> = new Map([...streamCommands, ...outcomeCommands].map((c) => [c.name, c]));

const failed = (e: unknown): CommandOutcome => ({ ok: false, error: e instanceof Error ? e.message : String(e) });

/**
 * Runs `cmd` (any value: an unknown or non-string name gets the unknown-command error). Synchronous for every
 * command whose run returns a plain value; a Promise where it returns one (ping, load). Never throws or rejects:
 * failures are `{ ok: false, error }`.
 */
export function runCommand(
  table: CommandTable,
  ctx: ControlContext,
  cmd: unknown,
  args: ControlArgs,
): CommandOutcome | Promise<CommandOutcome> {
  try {
    const command = typeof cmd === 'string' ? table.get(cmd) : undefined;
    // inside the try: String() of an object whose toString is not a function throws
    if (!command) return { ok: false, error: `unknown command '${String(cmd)}'` };
    const result = command.run(ctx, args);
    if (result instanceof Promise) return result.then((r): CommandOutcome => ({ ok: true, result: r }), failed);
    return { ok: true, result };
  } catch (e) {
    return failed(e);
  }
}
