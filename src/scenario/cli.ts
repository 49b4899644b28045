// `ikelab scenario list [--json] | show NAME | run NAME|FILE [--json] [--peer-log FILE] [--set K=V]... [--keep]
// [--repeat N]`.
// Exit status of run: 0 every expectation held, 1 one failed, 2 usage or format error, 3 no daemon. The option
// tables below drive both the parsing and `--help` (control/cli-options.ts).
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { type CliFlag, optStr, parseVerbArgs, type VerbHelp } from '../control/cli-options.js';
import { CliUsageError, controlSocketOf } from '../control/watch-cli.js';
import { builtinNames, builtinPath, findScenario, SCENARIOS_DIR } from './builtins.js';
import { loadScenarioFile } from './format.js';
import { formatRepeat, MAX_REPEAT, runRepeated } from './repeat.js';
import { runScenario } from './runner.js';

export const SCENARIO_USAGE = `  scenario list [--json]              the built-in scenarios, one line each
  scenario show NAME                  print a built-in scenario (a starting point for your own)
  scenario run NAME|FILE [--json] [--peer-log FILE] [--set PARAM=VALUE]... [--keep] [--repeat N]
               [--config FILE | --socket PATH]
                                      run steps and expectations against the daemon, a verdict per step
                                      (docs/SCENARIOS.md); exit 0 all held, 1 failed, 2 usage, 3 no daemon`;

const LIST_FLAGS: readonly CliFlag[] = [{ name: 'json', type: 'boolean', help: 'as a JSON array of {name, description}' }];

const RUN_FLAGS: readonly CliFlag[] = [
  { name: 'json', type: 'boolean', help: 'the result (verdict per step, exit code) as one JSON object' },
  {
    name: 'peer-log',
    type: 'string',
    arg: 'FILE',
    help: "the peer's log (charon.log): peer-log steps read the lines appended after the start",
  },
  { name: 'set', type: 'string', arg: 'PARAM=VALUE', multiple: true, help: 'a value for a parameter the scenario declares (repeatable)' },
  { name: 'keep', type: 'boolean', help: "leave the scenario's fault rules in place and skip finally: (to look at the daemon afterwards)" },
  {
    name: 'repeat',
    type: 'string',
    arg: 'N',
    help: `run it N times in a row (1-${MAX_REPEAT}), then how often each step failed and how long each waiting step took; exit 0 only if every run passed`,
  },
  { name: 'socket', type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${join(tmpdir(), 'ikelab.sock')})` },
  { name: 'config', type: 'string', arg: 'FILE', help: 'use the daemon.control_socket of this config file' },
];

/** `ikelab scenario --help` shows all three; `ikelab scenario run --help` the one. */
export const SCENARIO_HELP: readonly VerbHelp[] = [
  {
    name: 'scenario list',
    synopsis: '[--json]',
    summary: 'the built-in scenarios, one line each',
    flags: LIST_FLAGS,
    exits: 'exit codes: 0 listed, 2 usage error',
  },
  {
    name: 'scenario show',
    synopsis: 'NAME',
    summary: 'print a built-in scenario (a starting point for your own)',
    flags: [],
    exits: 'exit codes: 0 printed, 2 usage error or no such scenario',
    noJson: 'prints the scenario file itself (YAML)',
  },
  {
    name: 'scenario run',
    synopsis: 'NAME|FILE [--json] [--peer-log FILE] [--set PARAM=VALUE]... [--keep] [--repeat N] [--config FILE | --socket PATH]',
    summary: 'run steps and expectations against the daemon, a verdict per step (docs/SCENARIOS.md)',
    exits: 'exit codes: 0 every expectation held, 1 one failed, 2 usage or format error, 3 no daemon listening',
    flags: RUN_FLAGS,
  },
];

export async function scenarioCommand(argv: string[]): Promise<number> {
  const [op, ...rest] = argv;
  try {
    switch (op) {
      case 'list': {
        const { values } = parseVerbArgs('scenario list', rest, LIST_FLAGS);
        const names = builtinNames();
        const list = names.map((name) => {
          try {
            return { name, description: loadScenarioFile(builtinPath(name)!).description };
          } catch (e) {
            return { name, description: `(invalid: ${(e as Error).message})` };
          }
        });
        if (values.json) {
          console.log(JSON.stringify(list, null, 2));
          return 0;
        }
        const width = Math.max(0, ...names.map((n) => n.length));
        for (const { name, description } of list) console.log(`${name.padEnd(width)}  ${description}`);
        if (!names.length) console.log(`no built-in scenarios in ${SCENARIOS_DIR}`);
        return 0;
      }
      case 'show': {
        if (rest.length !== 1) throw new CliUsageError('scenario show needs one NAME (see: ikelab scenario list)');
        const path = builtinPath(rest[0]!) ?? (rest[0]!.includes('/') ? rest[0] : undefined);
        if (!path) throw new CliUsageError(`no built-in scenario '${rest[0]}' (built-ins: ${builtinNames().join(', ')})`);
        process.stdout.write(readFileSync(path, 'utf8'));
        return 0;
      }
      case 'run':
        return await run(rest);
      default:
        throw new CliUsageError(op ? `unknown scenario verb '${op}' (list, show, run)` : 'scenario needs a verb: list, show or run');
    }
  } catch (e) {
    if (e instanceof CliUsageError) {
      console.error(`ikelab: ${e.message}\nusage: ikelab${SCENARIO_USAGE.slice(1)}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      console.error(`ikelab: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

async function run(argv: string[]): Promise<number> {
  const { values: opts, positionals } = parseVerbArgs('scenario run', argv, RUN_FLAGS, 1);
  const set: Record<string, string> = {};
  for (const v of (opts.set as string[] | undefined) ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new CliUsageError(`--set needs PARAM=VALUE, got '${v}'`);
    set[v.slice(0, eq)] = v.slice(eq + 1);
  }
  const target = positionals[0];
  if (!target) throw new CliUsageError('scenario run needs a NAME or FILE (see: ikelab scenario list)');
  const repeat = repeatCount(optStr(opts, 'repeat'));
  const scenario = findScenario(target); // ConfigError: exit 2
  const socket = controlSocketOf(opts);
  const json = opts.json === true;
  const options = {
    socket,
    params: set,
    peerLog: optStr(opts, 'peer-log'),
    keep: opts.keep === true,
    out: json ? undefined : (line: string) => console.log(line),
  };
  if (repeat !== undefined) {
    const r = await runRepeated(scenario, options, repeat, json ? undefined : (i) => console.log(`--- run ${i} of ${repeat}`));
    if (json) console.log(JSON.stringify(r, null, 2));
    else {
      for (const line of formatRepeat(r)) console.log(line);
      const last = r.results[r.results.length - 1];
      if (r.exitCode >= 2 && last?.error) console.error(`ikelab: ${last.error}`);
    }
    return r.exitCode;
  }
  const result = await runScenario(scenario, options);
  if (json) console.log(JSON.stringify(result, null, 2));
  else if (result.error && result.exitCode >= 2) console.error(`ikelab: ${result.error}`);
  return result.exitCode;
}

/** --repeat N: a whole number 1..MAX_REPEAT (undefined: one plain run, whose JSON is the result itself). */
function repeatCount(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_REPEAT)
    throw new CliUsageError(`invalid --repeat '${v}': expected an integer >= 1 and <= ${MAX_REPEAT}`);
  return n;
}
