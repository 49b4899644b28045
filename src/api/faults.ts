// peer.fault: the `ikelab fault add/clear/list` verbs. Object criteria are written out in the CLI syntax, so a
// rule is parsed, checked and logged exactly as the CLI's would be.
import type { FaultWiring } from '../faults-wiring.js';
import type { FaultRuleInput, PeerFaults } from './types.js';

type Entries = Record<string, string | number | boolean | readonly (string | number)[]>;

/** `{ exchange: 'IKE_AUTH', request: true, notify: ['A', 'B'] }` -> `exchange=IKE_AUTH,request,notify=A+B` */
function entriesText(v: string | Entries): string {
  if (typeof v === 'string') return v;
  return Object.entries(v)
    .map(([k, x]) => (x === true ? k : `${k}=${x === false ? 'no' : Array.isArray(x) ? x.join('+') : String(x)}`))
    .join(',');
}

export function faultsOf(wiring: FaultWiring): PeerFaults {
  return {
    add: (name: string, rule: FaultRuleInput) =>
      wiring.add({
        name,
        match: rule.match === undefined ? undefined : entriesText(rule.match),
        action: entriesText(rule.action),
        count: rule.count,
      }),
    clear: (name?: string) => wiring.clear(name),
    list: () => wiring.list(),
  };
}
