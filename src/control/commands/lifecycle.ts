// SA and config lifecycle: `initiate` (one, or --count N at --rate R), `terminate`, `rekey [--dh]`, `load` (re-read
// the config file).
import { dhChoiceForms, parseDhChoice } from '../../config/dh-choice.js';
import { exposedSecretsWarning, loadConfigFile } from '../../config/load.js';
import { ControlError } from '../../daemon.js';
import { argStr as str, type ControlCommand } from './command.js';

export const lifecycleCommands: readonly ControlCommand[] = [
  {
    name: 'initiate',
    run: ({ daemon }, a) => {
      const count = Number(str(a, 'count') ?? 1);
      if (count !== 1) return { initiating: daemon.initiateMany(str(a, 'ike'), str(a, 'child'), count, Number(str(a, 'rate') ?? 0)) };
      const sa = daemon.initiate(str(a, 'ike'), str(a, 'child'));
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
      if (dhText !== undefined && dh === undefined) throw new ControlError(`invalid --dh '${dhText}': use ${dhChoiceForms()}`);
      return { rekeying: daemon.rekey(str(a, 'ike'), str(a, 'child'), dh) };
    },
  },
  {
    name: 'load',
    run: (ctx, a) => {
      // read asynchronously, only a bounded regular file (loadConfigFile): the event loop never waits on it
      const file = str(a, 'config') ?? ctx.daemon.config.file;
      return loadConfigFile(file).then(({ config, mode }) => {
        ctx.daemon.reload(config);
        const warning = exposedSecretsWarning(config, mode);
        if (warning) ctx.log.log('CFG', 1, warning);
        return { loaded: file, connections: config.connections.map((c) => c.name) };
      });
    },
  },
];
