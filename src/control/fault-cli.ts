// `ikelab fault ...`: fault rules in a running daemon, over the control socket (the syntax: src/faults/index.ts).
//
//   ikelab fault add dpd-loss --match exchange=INFORMATIONAL,dir=in,request,empty --action drop --count 3
//   ikelab fault list [--json]
//   ikelab fault clear [dpd-loss]
//   ikelab fault impair drop-incoming:3 jacob-two-two
//   ikelab fault --mode silent|delay|normal [--ms N] [--ike NAME]     (shorthand, kept from before the rules)
import type { FaultRuleInfo } from '../faults/index.js';
import { controlCall } from './client.js';

export const FAULT_USAGE = `  fault add [NAME] --match CRITERIA --action ACTION [--count N]
                                      inject a fault, e.g. --match exchange=INFORMATIONAL,dir=in,request,empty
                                      --action drop (criteria and actions: src/faults/index.ts)
  fault list [--json]                 the fault rules, their state and how often each fired
                                      (--json on every fault verb: the daemon's reply as JSON)
  fault clear [NAME]                  remove one fault rule, or all
  fault impair WHAT[:HOW] ...         libreswan impairments as rules (drop-incoming:3, jacob-two-two, ...)
  fault --mode silent|delay|normal [--ms N] [--ike NAME]
                                      shorthand: stop answering (dead peer), hold inbound messages N ms, or resume`;

export class FaultUsageError extends Error {}

type Opts = Record<string, string | boolean>;

/** `fault` with its positional words (sub-verb first) and options; returns the exit code. */
export async function faultCommand(words: string[], opts: Opts, socket: string): Promise<number> {
  const str = (k: string): string | undefined => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  const [op, ...rest] = words;
  const extra = (max: number) => {
    if (rest.length > max) throw new FaultUsageError(`fault ${op}: unexpected argument '${rest[max]}'`);
  };
  switch (op) {
    case undefined: {
      if (!str('mode')) throw new FaultUsageError('fault needs a verb (add, list, clear, impair) or --mode silent|delay|normal');
      console.log(JSON.stringify(await controlCall(socket, 'fault', { mode: str('mode'), ike: str('ike'), ms: str('ms') })));
      return 0;
    }
    case 'add': {
      extra(1);
      if (rest[0] !== undefined && str('name') !== undefined) throw new FaultUsageError('fault add: the name once, as NAME or --name');
      if (!str('action')) throw new FaultUsageError('fault add needs --action ACTION');
      const r = (await controlCall(socket, 'fault', {
        op: 'add',
        name: rest[0] ?? str('name'),
        match: str('match'),
        action: str('action'),
        count: str('count'),
      })) as { added: FaultRuleInfo[] };
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else for (const info of r.added) console.log(`fault rule '${info.name}' added: ${ruleText(info)}`);
      return 0;
    }
    case 'list': {
      extra(0);
      const rules = (await controlCall(socket, 'fault', { op: 'list' })) as FaultRuleInfo[];
      console.log(opts.json ? JSON.stringify(rules, null, 2) : formatRules(rules));
      return 0;
    }
    case 'clear': {
      extra(1);
      const r = (await controlCall(socket, 'fault', { op: 'clear', name: rest[0] })) as { cleared: string[] };
      if (opts.json) {
        console.log(JSON.stringify(r, null, 2));
        return 0;
      }
      console.log(
        r.cleared.length
          ? `cleared fault rule${r.cleared.length > 1 ? 's' : ''} ${r.cleared.map((n) => `'${n}'`).join(', ')}`
          : 'no fault rules',
      );
      return 0;
    }
    case 'impair': {
      if (!rest.length) throw new FaultUsageError('fault impair needs one or more libreswan impairments, e.g. drop-incoming:3');
      const r = (await controlCall(socket, 'fault', { op: 'impair', items: rest })) as { added: FaultRuleInfo[] };
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else for (const info of r.added) console.log(`fault rule '${info.name}' added: ${ruleText(info)}`);
      return 0;
    }
    default:
      throw new FaultUsageError(`unknown fault verb '${op}' (add, list, clear, impair, or --mode)`);
  }
}

/** The rule as the CLI takes it (its count included). */
const ruleText = (r: FaultRuleInfo): string => r.text;

/** One line per rule: name, state, fired/seen (shadowed, held), the rule as the CLI takes it. */
export function formatRules(rules: FaultRuleInfo[]): string {
  if (!rules.length) return 'no fault rules';
  const rows = rules.map((r) => [
    r.name,
    r.state,
    String(r.fired),
    String(r.seen),
    `${r.shadowed ? `shadowed ${r.shadowed} ` : ''}${r.holding ? `holding ${r.holding} ` : ''}${ruleText(r)}`,
  ]);
  const head = ['NAME', 'STATE', 'FIRED', 'SEEN', 'RULE'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(width[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
