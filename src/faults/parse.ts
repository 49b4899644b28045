// A whole rule from the CLI (`--name dpd-loss --match ... --action ... --count 3`), and the checks that need the
// match and the action together. Those checks refuse rules that could never fire (a KE change on IKE_AUTH, an
// inbound wrong-spi, `dead` with message criteria): in a failure reproduction a rule that silently does nothing
// is worse than an error.

import { ExchangeType } from '../wire/constants.js';
import { ACTION_TRAITS, formatAction, parseActionEntries } from './actions.js';
import { at, FaultSyntaxError, Where } from './errors.js';
import type { FaultAction, FaultMatch, FaultRuleSpec } from './model.js';
import { ESP_ONLY_KEYS, IKE_ONLY_KEYS, parseMatchEntries, type ParsedMatch } from './parse-match.js';
import { textEntries } from './syntax.js';
import { exchangeText, parseInteger } from './values.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

export function parseRuleName(v: unknown, where: Where): string {
  if (typeof v === 'string' && NAME_RE.test(v)) return v;
  throw new FaultSyntaxError(
    String(where),
    'a rule name: letters, digits and _ . : @ - (at most 64, starting with a letter or digit)',
    JSON.stringify(v),
  );
}

export function parseCount(v: unknown, where: Where): number {
  return at(where, () => parseInteger(v, 1, 0xffff_ffff, 'how often the rule may fire, 1 or more'));
}

/** Keys a `dead` rule may have: it covers everything of an IKE_SA, so message criteria would be a lie. */
const DEAD_KEYS = ['ike', 'ike-id', 'after', 'for'];

/** Match (with where each key was written) + action -> a checked rule spec. */
export function assembleRule(
  name: string | undefined,
  pm: ParsedMatch,
  action: FaultAction,
  count: number | undefined,
  w: { match: Where; action: Where; count: Where },
): FaultRuleSpec {
  const { match: m, keys } = pm;
  const traits = ACTION_TRAITS[action.type];
  const keyErr = (key: string, expected: string, detail?: string): FaultSyntaxError =>
    new FaultSyntaxError(String(keys.get(key) ?? w.match), expected, undefined, detail);

  if (action.type === 'dead') {
    const extra = [...keys.keys()].find((k) => !DEAD_KEYS.includes(k));
    if (extra)
      throw keyErr(
        extra,
        `only ${DEAD_KEYS.join(', ')} with dead`,
        'dead drops everything of the IKE_SA: IKE, keepalives and ESP, both ways',
      );
    if (count !== undefined)
      throw new FaultSyntaxError(
        String(w.count),
        'no count with dead',
        undefined,
        'dead lasts until cleared or until its for= window ends',
      );
  }

  const layer = m.layer ?? (traits.layers.length === 1 ? traits.layers[0]! : 'ike');
  if (m.layer && !traits.layers.includes(m.layer)) throw keyErr('proto', `proto=${traits.layers.join(' or ')} for ${action.type}`);
  const wrongKey = [...keys.keys()].find((k) => (layer === 'esp' ? IKE_ONLY_KEYS : ESP_ONLY_KEYS).includes(k));
  if (wrongKey)
    throw keyErr(
      wrongKey,
      `no ${wrongKey} in ${layer === 'esp' ? 'an ESP' : 'an IKE'} rule`,
      `${wrongKey} is about ${layer === 'esp' ? 'IKE messages' : 'ESP packets'}`,
    );

  if (m.dir && !traits.dirs.includes(m.dir)) {
    throw keyErr(
      'dir',
      `dir=${traits.dirs.join(' or ')} for ${action.type}`,
      traits.dirs[0] === 'out' ? 'it changes what this daemon sends' : 'it acts on what this daemon receives',
    );
  }
  checkApplicable(m, action, keyErr);

  const match: FaultMatch = { ...m, layer };
  return { ...(name !== undefined ? { name } : {}), match, action, ...(count !== undefined ? { count } : {}) };
}

/** Criteria that exclude every message the action could act on. */
function checkApplicable(
  m: ParsedMatch['match'],
  a: FaultAction,
  keyErr: (key: string, expected: string, detail?: string) => FaultSyntaxError,
): void {
  const ex = m.exchange;
  const exName = ex !== undefined ? exchangeText(ex) : '';
  switch (a.type) {
    case 'notify':
      if (m.dir === 'in' && m.role === 'response')
        throw keyErr('response', 'request with dir=in for notify', 'notify answers a received request instead of processing it');
      if (m.dir === 'out' && m.role === 'request')
        throw keyErr('request', 'response with dir=out for notify', 'notify replaces a response this daemon sends');
      break;
    case 'ke':
      if (ex !== undefined && ex !== ExchangeType.IKE_SA_INIT && ex !== ExchangeType.CREATE_CHILD_SA)
        throw keyErr('exchange', 'IKE_SA_INIT or CREATE_CHILD_SA for ke', `${exName} carries no KE payload`);
      break;
    case 'corrupt':
    case 'unknown-payload':
      if ((a.type === 'corrupt' || a.sk) && ex === ExchangeType.IKE_SA_INIT)
        throw keyErr('exchange', `an encrypted exchange for ${formatAction(a)}`, 'IKE_SA_INIT has no SK payload');
      break;
    case 'no-delete':
      if (ex !== undefined && ex !== ExchangeType.INFORMATIONAL)
        throw keyErr('exchange', 'INFORMATIONAL for no-delete', 'DELETE travels in INFORMATIONAL requests');
      if (m.role === 'response') throw keyErr('response', 'no response with no-delete', 'DELETE travels in requests');
      break;
    case 'collide':
      if (ex !== undefined && ex !== ExchangeType.CREATE_CHILD_SA)
        throw keyErr('exchange', 'CREATE_CHILD_SA for collide', `a CHILD_SA rekey travels in CREATE_CHILD_SA, not ${exName}`);
      if (m.role === 'response') throw keyErr('response', 'no response with collide', "it acts on the peer's rekey request");
      if (m.retransmit === true) throw keyErr('retransmit', 'retransmit left out (or no) for collide', 'it acts on the first transmission');
      break;
    case 'no-retransmit':
      if (m.retransmit === false)
        throw keyErr('retransmit', 'retransmit left out (or yes) for no-retransmit', 'no-retransmit only acts on retransmits');
      break;
  }
}

export interface RuleTexts {
  name?: string;
  /** `--match` text; empty or missing matches every message the action can act on. */
  match?: string;
  action: string;
  count?: string | number;
}

/** The CLI form: `--name N --match M --action A --count C`. Errors name the option (`--match exchange: ...`). */
export function parseRuleTexts(t: RuleTexts): FaultRuleSpec {
  const w = { match: new Where('--match', ' '), action: new Where('--action', ' '), count: new Where('--count', ' ') };
  const name = t.name !== undefined ? parseRuleName(t.name, new Where('--name', ' ')) : undefined;
  const pm = parseMatchEntries(textEntries(t.match ?? '', w.match), w.match);
  const action = parseActionEntries(textEntries(t.action, w.action), w.action, false);
  const count = t.count !== undefined ? parseCount(t.count, w.count) : undefined;
  return assembleRule(name, pm, action, count, w);
}
