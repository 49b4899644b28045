// `ikelab scenario list | show NAME | run NAME|FILE [--json] [--peer-log FILE] [--set K=V]... [--keep]`.
// Exit status of run: 0 every expectation held, 1 one failed, 2 usage or format error, 3 no daemon.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { CliUsageError, controlSocketOf } from '../control/watch-cli.js';
import { builtinNames, builtinPath, findScenario, SCENARIOS_DIR } from './builtins.js';
import { loadScenarioFile } from './format.js';
import { runScenario } from './runner.js';

export const SCENARIO_USAGE = `  scenario list                       the built-in scenarios, one line each
  scenario show NAME                  print a built-in scenario (a starting point for your own)
  scenario run NAME|FILE [--json] [--peer-log FILE] [--set PARAM=VALUE]... [--keep] [--config FILE | --socket PATH]
                                      run steps and expectations against the daemon, a verdict per step
                                      (docs/SCENARIOS.md); exit 0 all held, 1 failed, 2 usage, 3 no daemon`;

export async function scenarioCommand(argv: string[]): Promise<number> {
  const [op, ...rest] = argv;
  try {
    switch (op) {
      case 'list': {
        if (rest.length) throw new CliUsageError(`scenario list: unexpected argument '${rest[0]}'`);
        const names = builtinNames();
        const width = Math.max(0, ...names.map((n) => n.length));
        for (const n of names) {
          let desc: string;
          try {
            desc = loadScenarioFile(builtinPath(n)!).description;
          } catch (e) {
            desc = `(invalid: ${(e as Error).message})`;
          }
          console.log(`${n.padEnd(width)}  ${desc}`);
        }
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
  const opts: Record<string, string | boolean> = {};
  const set: Record<string, string> = {};
  let target: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' || a === '--keep') opts[a.slice(2)] = true;
    else if (['--peer-log', '--set', '--socket', '--config'].includes(a)) {
      const v = argv[++i];
      if (v === undefined) throw new CliUsageError(`${a} needs a value`);
      if (a === '--set') {
        const eq = v.indexOf('=');
        if (eq <= 0) throw new CliUsageError(`--set needs PARAM=VALUE, got '${v}'`);
        set[v.slice(0, eq)] = v.slice(eq + 1);
      } else opts[a.slice(2)] = v;
    } else if (a.startsWith('--')) throw new CliUsageError(`scenario run: unknown option '${a}'`);
    else if (target === undefined) target = a;
    else throw new CliUsageError(`scenario run: unexpected argument '${a}'`);
  }
  if (!target) throw new CliUsageError('scenario run needs a NAME or FILE (see: ikelab scenario list)');
  const scenario = findScenario(target); // ConfigError: exit 2
  const socket = controlSocketOf(opts);
  const json = opts.json === true;
  const result = await runScenario(scenario, {
    socket,
    params: set,
    peerLog: typeof opts['peer-log'] === 'string' ? opts['peer-log'] : undefined,
    keep: opts.keep === true,
    out: json ? undefined : (line) => console.log(line),
  });
  if (json) console.log(JSON.stringify(result, null, 2));
  else if (result.error && result.exitCode >= 2) console.error(`ikelab: ${result.error}`);
  return result.exitCode;
}
