// Rules back to text: the canonical CLI spelling that list() shows and that parseRuleTexts takes back unchanged
// (keys in MATCH_KEYS order, defaults left out, names rather than numbers where the parser knows the name).

import { ACTION_TRAITS, formatAction } from './actions.js';
import type { FaultAction, FaultMatch, FaultRuleSpec } from './model.js';
import { MATCH_KEYS } from './parse-match.js';
import { exchangeText, formatDurationMs, notifyText, payloadText } from './values.js';

/** The canonical `--match` text of a match (keys in MATCH_KEYS order; proto only when not implied). */
export function formatMatch(m: FaultMatch, action: FaultAction): string {
  const out: string[] = [];
  const implied = ACTION_TRAITS[action.type].layers.length === 1 || m.layer === 'ike' || action.type === 'dead';
  for (const key of MATCH_KEYS) {
    switch (key) {
      case 'proto':
        if (!implied) out.push(`proto=${m.layer}`);
        break;
      case 'ike':
        if (m.ike !== undefined) out.push(`ike=${m.ike}`);
        break;
      case 'ike-id':
        if (m.ikeId !== undefined) out.push(`ike-id=${m.ikeId}`);
        break;
      case 'child':
        if (m.child !== undefined) out.push(`child=${m.child}`);
        break;
      case 'dir':
        if (m.dir) out.push(`dir=${m.dir}`);
        break;
      case 'exchange':
        if (m.exchange !== undefined) out.push(`exchange=${exchangeText(m.exchange)}`);
        break;
      case 'request':
      case 'response':
        if (m.role === key) out.push(key);
        break;
      case 'mid':
        if (m.messageId !== undefined) out.push(`mid=${m.messageId}`);
        break;
      case 'payload':
        if (m.payloads?.length) out.push(`payload=${m.payloads.map(payloadText).join('+')}`);
        break;
      case 'notify':
        if (m.notifies?.length) out.push(`notify=${m.notifies.map(notifyText).join('+')}`);
        break;
      case 'empty':
        if (m.empty !== undefined) out.push(m.empty ? 'empty' : 'empty=no');
        break;
      case 'retransmit':
        if (m.retransmit !== undefined) out.push(m.retransmit ? 'retransmit' : 'retransmit=no');
        break;
      case 'nth':
        if (m.nth !== undefined) out.push(`nth=${m.nth}`);
        break;
      case 'after':
        if (m.afterMs !== undefined) out.push(`after=${formatDurationMs(m.afterMs)}`);
        break;
      case 'for':
        if (m.forMs !== undefined) out.push(`for=${formatDurationMs(m.forMs)}`);
        break;
      case 'prob':
        if (m.prob !== undefined) out.push(`prob=${m.prob}`);
        break;
      case 'seed':
        if (m.seed !== undefined) out.push(`seed=${m.seed}`);
        break;
    }
  }
  return out.join(',');
}

/** `--match M --action A [--count C]` (no name): what list() shows and what parseRuleTexts takes back. */
export function formatRule(r: FaultRuleSpec): string {
  const match = formatMatch(r.match, r.action);
  return `${match ? `--match ${match} ` : ''}--action ${formatAction(r.action)}${r.count !== undefined ? ` --count ${r.count}` : ''}`;
}
