// The option tables of the verbs with their own parsers (watch, scenario): one table per verb drives both the
// parsing (node:util parseArgs, strict, like src/cli/: an unknown or misspelt flag is an error naming it) and the
// `--help` text, so an option cannot exist without its help line (test/cli/help.test.ts walks the tables).
import { parseArgs } from 'node:util';

/** A command line a verb with its own parser refuses: exit 2. */
export class CliUsageError extends Error {}

/** One option: the shape of the CLI's Flag (src/cli/verb.ts), so its help renderer (src/cli/help.ts) prints these tables too. */
export interface CliFlag {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in the help (string flags). */
  readonly arg?: string;
  readonly help: string;
  /** May be given more than once (watch --event, scenario run --set): the values come as a list. */
  readonly multiple?: boolean;
}

/** What `ikelab VERB --help` shows: src/cli/help.ts renders it the same way for every verb. */
export interface VerbHelp {
  /** The verb as typed: `watch`, `scenario run`. */
  readonly name: string;
  readonly synopsis: string;
  readonly summary: string;
  readonly flags: readonly CliFlag[];
  /** More text after the summary (fault's sub-verbs). */
  readonly more?: string;
  /** The exit codes line, when the verb's differ from the CLI's usual 0/1/2/3. */
  readonly exits?: string;
  /** Why this verb has no --json: it prints no data (a daemon, a narrated demo, a YAML file). */
  readonly noJson?: string;
}

export type CliValues = Record<string, string | boolean | string[] | undefined>;

/** argv parsed against the table; a CliUsageError (exit 2) naming the flag or argument otherwise. */
export function parseVerbArgs(
  verb: string,
  argv: string[],
  flags: readonly CliFlag[],
  maxPositionals = 0,
): { values: CliValues; positionals: string[] } {
  const options = Object.fromEntries(flags.map((f) => [f.name, { type: f.type, multiple: f.multiple === true }] as const));
  let parsed: { values: CliValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = (/'([^']+)'/.exec(err.message)?.[1] ?? '').split(' ')[0];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new CliUsageError(`${verb}: unknown option '${flag}'`);
    if (/argument missing/.test(err.message)) throw new CliUsageError(`${flag} needs a value`);
    if (/ambiguous/.test(err.message)) throw new CliUsageError(`${flag} needs a value (one starting with '-': ${flag}=VALUE)`);
    if (/does not take an argument/.test(err.message)) throw new CliUsageError(`${flag} takes no value`);
    throw new CliUsageError(`${verb}: ${err.message}`);
  }
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) throw new CliUsageError(`${verb}: unexpected argument '${extra}'`);
  return parsed;
}

/** A string option, or undefined. */
export const optStr = (v: CliValues, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
