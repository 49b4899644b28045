// SA and config lifecycle: `initiate` (one, or --count N at --rate R; per-initiation overrides --psk --proposals
// --esp-proposals --local-ts --remote-ts), `terminate`, `rekey [--dh]`, `load [--apply-to-rekey]` (re-read the
// config file and say what that changes for live SAs). The work is the ops' (src/ops); these parse and reply.
import { dhChoiceForms, parseDhChoice } from '../../config/dh-choice.js';
import { exposedSecretsWarning, loadConfigFile } from '../../config/load.js';
import { OpError } from '../../ops/context.js';
import { type InitiateOverrideText, OVERRIDE_FLAGS, parseOverrides } from '../../ops/overrides.js';
import { type ControlArgs, type ControlCommand, argStr as str } from './command.js';
import { LOAD_ARGS, startLoadRun } from './load.js';

/** The overrides' argument names are their CLI flags without the dashes (`esp-proposals`). */
export function overrideText(a: ControlArgs): InitiateOverrideText {
  const t: InitiateOverrideText = {};
  for (const [key, flag] of Object.entries(OVERRIDE_FLAGS) as [keyof InitiateOverrideText, string][]) {
    const v = a[flag.slice(2)];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new OpError(`${flag} needs a value`);
    t[key] = v;
  }
  return t;
}

/** A flag without a value: the CLI sends true, other clients may send the string. */
const flag = (a: ControlArgs, k: string): boolean => a[k] === true || a[k] === 'true';

export const lifecycleCommands: readonly ControlCommand[] = [
  {
    name: 'initiate',
    run: ({ daemon }, a) => {
      const overrides = parseOverrides(overrideText(a), daemon.config.daemon.ipsecBackend);
      // with a count (or another load option): a tracked load run (load.ts), its reply carries the run's id
      if (LOAD_ARGS.some((k) => a[k] !== undefined)) {
        const run = startLoadRun(daemon, a, overrides);
        return { initiating: run.count, run: run.id, status: run };
      }
      const sa = daemon.initiate(str(a, 'ike'), str(a, 'child'), overrides);
      return { ike: sa.name, uniqueId: sa.uniqueId, state: sa.state };
    },
  },
  {
    name: 'terminate',
    run: ({ daemon }, a) => ({ terminated: daemon.terminate(str(a, 'ike'), str(a, 'child')) }),
  },
  {
    name: 'rekey',
    run: ({ daemon }, a) => {
      const dhText = str(a, 'dh');
      const dh = dhText === undefined ? undefined : parseDhChoice(dhText);
      if (dhText !== undefined && dh === undefined) throw new OpError(`invalid --dh '${dhText}': use ${dhChoiceForms()}`);
      return { rekeying: daemon.rekey(str(a, 'ike'), str(a, 'child'), dh) };
    },
  },
  {
    name: 'load',
    run: (ctx, a) => {
      // read asynchronously, only a bounded regular file (loadConfigFile): the event loop never waits on it
      const file = str(a, 'config') ?? ctx.daemon.config.file;
      const applyToRekey = flag(a, 'apply-to-rekey');
      return loadConfigFile(file).then(({ config, mode }) => {
        const report = ctx.daemon.reload(config, { applyToRekey });
        const warning = exposedSecretsWarning(config, mode);
        if (warning) ctx.log.log('CFG', 1, warning);
        return { loaded: file, connections: config.connections.map((c) => c.name), ...report };
      });
    },
  },
];
