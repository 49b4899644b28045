#!/usr/bin/env node
// ikelab's command line. Verbs mirror swanctl's: start (the daemon, foreground), initiate, terminate, rekey,
// list-sas, list-conns, load; plus demo (two peers on loopback, no root), fault, watch, scenario, log-compare.
// This file is the entry point only (the bin: dist/cli.js): it picks the verb, parses its flags, maps errors to
// exit codes and lets the output flush. The verbs are in src/cli/, one module per family (table.ts lists them;
// own-parsers.ts has the verbs with their own parsers; help.ts renders every --help from the same tables).
//
// Parsing: node:util parseArgs, strict, one option table per verb. No dependency (a CLI library would be one more
// package in every install of the daemon), strict (an unknown or misspelt flag is an error naming it, never a
// silently ignored option in a CI script), typed (string or boolean per flag, the values checked before any
// daemon is asked). scenario, watch and log-compare keep their own parsers (repeatable options, positional files).
//
// Exit codes (README "CLI"): 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon. The exit code
// is set, never forced right after a write: stdout may be a pipe still draining (list-sas --json of many SAs).
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helpFor, overview, usageLine, verbHelp } from './cli/help.js';
import { OWN_PARSERS } from './cli/own-parsers.js';
import { VERBS } from './cli/table.js';
import { EXIT, UsageError, type Values, type Verb } from './cli/verb.js';
import { ConfigError } from './config/errors.js';
import { NoDaemonError } from './control/client.js';
import { CliUsageError } from './control/cli-options.js';
import { FaultUsageError } from './control/fault-cli.js';

function version(): string {
  // dist/cli.js and src/cli.ts both sit one level below package.json
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** parseArgs' errors (ERR_PARSE_ARGS_*) as the CLI says them: naming the flag. */
function parseError(verb: string, e: Error & { code?: string }): UsageError {
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
  const flag = quoted.split(' ')[0]!;
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`${verb}: unknown option '${flag}'`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`${verb}: unexpected argument '${flag}'`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(e.message)) return new UsageError(`${flag} needs a value`);
      if (/ambiguous/.test(e.message)) return new UsageError(`${flag} needs a value (one starting with '-': ${flag}=VALUE)`);
      if (/does not take an argument/.test(e.message)) return new UsageError(`${flag} takes no value`);
      return new UsageError(e.message);
    default:
      return new UsageError(e.message);
  }
}

/** The verb being run, for the usage line of an error. */
let current: Verb | undefined;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.error(await overview());
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log((await helpFor(rest)) ?? (await overview()));
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    console.log(version());
    return EXIT.ok;
  }
  const own = OWN_PARSERS[first] ? await OWN_PARSERS[first]() : undefined;
  if (own) {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(await helpFor([first, ...rest]));
      return EXIT.ok;
    }
    return own.run(rest);
  }
  const verb = VERBS.find((x) => x.name === first);
  if (!verb) throw new UsageError(first.startsWith('-') ? `unknown option '${first}' (a verb comes first)` : `unknown verb '${first}'`);
  current = verb;
  const options = Object.fromEntries([
    ...verb.flags.map((f) => [f.name, { type: f.type }] as const),
    ['help', { type: 'boolean', short: 'h' }] as const,
  ]);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: verb.positionals === true }) as typeof parsed;
  } catch (e) {
    throw parseError(verb.name, e as Error & { code?: string });
  }
  if (parsed.values.help) {
    console.log(verbHelp(verb));
    return EXIT.ok;
  }
  return verb.run(parsed.values, parsed.positionals);
}

/** Exit code and message of an error main() threw. */
async function report(e: unknown): Promise<number> {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof UsageError || e instanceof FaultUsageError || e instanceof CliUsageError) {
    console.error(`ikelab: ${msg}\n${current ? `usage: ${usageLine(current)}  (ikelab ${current.name} --help)` : await overview()}`);
    return EXIT.usage;
  }
  console.error(`ikelab: ${msg}`);
  if (e instanceof ConfigError) return EXIT.usage;
  if (e instanceof NoDaemonError) return EXIT.noDaemon;
  return EXIT.failed;
}

/**
 * Sets the exit code and lets the event loop end, so stdout (perhaps a pipe a reader drains slowly) is written out
 * in full. A handle a verb left open must not keep the CLI alive: once both streams flushed, an unref'd timer ends it.
 */
function finish(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => setTimeout(() => process.exit(), 2000).unref()));
}

/**
 * Run as the program (the bin link, `node dist/cli.js`), not when imported: loading this module must not run a
 * verb (the tests read the verb tables from src/cli/help.ts). The bin is a symlink, and Node runs a main module
 * under its real path.
 */
function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) main(process.argv.slice(2)).then(finish, (e) => report(e).then(finish));
