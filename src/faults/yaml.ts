// The config form of fault rules, the same shape as the CLI's:
//
//   faults:
//     - name: dpd-loss
//       match: { exchange: INFORMATIONAL, dir: in, request: true, empty: true, prob: 0.3, seed: 42 }
//       action: drop                       # or "delay=400ms", or { delay: 400ms }, or { duplicate: 2, gap: 500ms }
//       count: 10
//
// `match` and `action` may also be written in the CLI text syntax ("exchange=INFORMATIONAL,dir=in"). Errors name
// the key path (`faults[0].match.exchange: expected ...`) so the config loader can report them like its own.

import { parseActionEntries } from './actions.js';
import { FaultSyntaxError, unknownKey, Where } from './errors.js';
import type { FaultRuleSpec } from './model.js';
import { assembleRule, parseCount, parseRuleName } from './parse.js';
import { parseMatchEntries } from './parse-match.js';
import { mapEntries, textEntries, type Entry } from './syntax.js';

const RULE_KEYS = ['name', 'match', 'action', 'count'];

/** A `faults:` value (already parsed from YAML) -> rule specs; null/absent is no rules. */
export function parseFaultsYaml(v: unknown, base = 'faults'): FaultRuleSpec[] {
  if (v === undefined || v === null) return [];
  const where = new Where(base);
  if (!Array.isArray(v))
    throw new FaultSyntaxError(
      base,
      'a list of rules ({ name, match, action, count })',
      typeof v === 'object' ? 'a mapping' : JSON.stringify(v),
    );
  const rules = v.map((item, i) => parseFaultYaml(item, where.index(i)));
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    if (r.name === undefined) return;
    const first = seen.get(r.name);
    if (first !== undefined)
      throw new FaultSyntaxError(
        String(where.index(i).key('name')),
        'a name no other rule has',
        JSON.stringify(r.name),
        `${base}[${first}] has it`,
      );
    seen.set(r.name, i);
  });
  return rules;
}

export function parseFaultYaml(item: unknown, where: Where): FaultRuleSpec {
  const entries = mapEntries(item, where, 'a rule: a mapping with name, match, action and count');
  const get = (k: string): Entry | undefined => entries.find((e) => e.key === k);
  for (const e of entries) if (!RULE_KEYS.includes(e.key)) throw unknownKey(where, e.key, RULE_KEYS);

  const nameE = get('name');
  const name = nameE ? parseRuleName(nameE.value, nameE.where) : undefined;

  const mw = where.key('match');
  const mv = get('match')?.value;
  const matchEntries =
    mv === undefined || mv === true
      ? []
      : typeof mv === 'string'
        ? textEntries(mv, mw)
        : mapEntries(mv, mw, 'a mapping of criteria (or the CLI text form)');
  const pm = parseMatchEntries(matchEntries, mw);

  const aw = where.key('action');
  const av = get('action')?.value;
  if (av === undefined) throw new FaultSyntaxError(String(aw), 'an action (drop, delay: 400ms, ...)', 'nothing');
  const actionEntries =
    typeof av === 'string'
      ? textEntries(av, aw)
      : mapEntries(av, aw, 'an action: a name (drop), text (delay=400ms) or a mapping ({ delay: 400ms })');
  const action = parseActionEntries(actionEntries, aw, typeof av !== 'string');

  const ce = get('count');
  const count = ce ? parseCount(ce.value, ce.where) : undefined;
  return assembleRule(name, pm, action, count, { match: mw, action: aw, count: where.key('count') });
}
