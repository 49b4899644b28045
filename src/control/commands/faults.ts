// `fault` (the CLI side: ../fault-cli.ts). args.op picks the verb: add (name, match, action, count), list,
// clear [name], impair (items), and without op the old `--mode silent|delay|normal [--ms N] [--ike NAME]`.
// Errors (syntax: key path, expected, got) throw.
import { argStr, type ControlArgs, type ControlCommand, type ControlContext } from './command.js';

function fault({ daemon }: ControlContext, a: ControlArgs): unknown {
  const str = (k: string) => argStr(a, k);
  const w = daemon.faults;
  switch (str('op')) {
    case 'add': {
      const action = str('action');
      if (action === undefined) throw new Error('fault add needs --action ACTION (and usually --match CRITERIA)');
      return { added: [w.add({ name: str('name'), match: str('match'), action, count: str('count') })] };
    }
    case 'list':
      return w.list();
    case 'clear':
      return { cleared: w.clear(str('name')) };
    case 'impair': {
      const items = a.items;
      const list = Array.isArray(items)
        ? items.filter((x): x is string => typeof x === 'string')
        : typeof items === 'string'
          ? items.split(/\s+/).filter(Boolean)
          : [];
      return { added: w.impair(list) };
    }
    case undefined:
    case 'mode': {
      const mode = str('mode');
      if (mode !== 'silent' && mode !== 'normal' && mode !== 'delay') throw new Error('fault needs --mode silent|delay|normal');
      const ms = Number(str('ms') ?? 0);
      if (mode === 'delay' && !(ms > 0 && ms <= 60_000)) throw new Error('fault --mode delay needs --ms N (1..60000)');
      return { fault: daemon.setFault(mode, str('ike'), mode === 'delay' ? ms : undefined) };
    }
    default:
      throw new Error(`unknown fault verb '${str('op')}' (add, list, clear, impair, or --mode)`);
  }
}

export const faultCommands: readonly ControlCommand[] = [{ name: 'fault', run: fault }];
