// libreswan's `ipsec whack --impair WHAT[:HOW]` names, accepted as shorthand for ikelab fault rules, so a
// libreswan test recipe or a bug report written in its terms can be replayed against strongSwan or Cisco. The
// meaning of each name was taken from libreswan's sources (lib/libswan/impair.c help texts;
// programs/pluto/impair_message.c, demux.c, ikev2_ke.c, ikev2_send.c, server.c for what they do), and each maps
// to the rule below, written in ikelab's own CLI syntax (the mapping is built from exactly this text).
//
// | libreswan impair               | what libreswan does                                    | ikelab rule (--match / --action)               |
// |--------------------------------|--------------------------------------------------------|------------------------------------------------|
// | drop-incoming:N                | drop the N-th incoming message, once (retransmits of   | dir=in,retransmit=no,nth=N / drop               |
// |                                | a message keep its number)                             |                                                |
// | drop-outgoing:N                | the same for outgoing messages                         | dir=out,retransmit=no,nth=N / drop              |
// | jacob-two-two                  | send every message twice, the copy 0.5 s later         | dir=out / duplicate,gap=500ms                   |
// | replay-duplicates              | process every incoming message twice                   | dir=in / duplicate                              |
// | replay-forward                 | with each incoming message, re-process all messages    | dir=in / replay=forward                         |
// |                                | received so far, old to new                            |                                                |
// | replay-backward                | the same, new to old                                   | dir=in / replay=backward                        |
// | corrupt-encrypted              | flip the first byte of an incoming SK payload (its IV) | dir=in / corrupt=iv                             |
// |                                | before decrypting: the message fails integrity         |                                                |
// | ke-payload:omit                | send no KE payload                                     | dir=out / ke=omit                               |
// | ke-payload:empty               | send a KE payload with no data                         | dir=out / ke=empty                              |
// | ke-payload:N (0..255)          | KE data filled with byte N, group unchanged (breaks    | dir=out / ke=fill:N                             |
// |                                | the DH computation; N is NOT a group number)           |                                                |
// | suppress-retransmits           | never retransmit a request, give up after the full     | dir=out,request,retransmit / no-retransmit      |
// |                                | timeout                                                |                                                |
// | send-no-delete                 | do not send Delete notifications                       | dir=out / no-delete                             |
// | add-unknown-v2-payload-to:X    | add an unknown payload to the unencrypted part of      | dir=out,exchange=X / unknown-payload            |
// |                                | outgoing X messages                                    |                                                |
// | add-unknown-v2-payload-to-sk:X | the same inside the SK payload                         | dir=out,exchange=X / unknown-payload,sk         |
// | unknown-v2-payload-critical    | set the critical bit on that unknown payload (a        | adds `critical` to the unknown-payload rules    |
// |                                | modifier: alone it does nothing)                       | of the same --impair list; alone an error       |
//
// Differences, on purpose and documented rather than hidden:
// - libreswan counts and records messages daemon-wide; ikelab rules count per rule (narrow them with ike=) and
//   replay=forward/backward re-processes the messages recorded for the same IKE_SA.
// - libreswan's unknown payload has its own type number; ikelab sends type 255 (RFC 7296 private use) unless
//   unknown-payload=TYPE is given.
// - "offer another DH group" is not a libreswan impair: write ke=group:19 (ke-payload:19 fills the KE data).
// - ke-payload:duplicate (KE twice) has no ikelab equivalent and is refused.
// - WHAT:no / no-WHAT (switching an impairment off) is refused: clear the rule by its name instead.
// Names are case-insensitive, '_' equals '-', and HOW follows ':' or '=' (as libreswan's parser accepts).

import { ExchangeType } from '../wire/constants.js';
import { at, FaultSyntaxError, unknownKey, Where } from './errors.js';
import type { FaultRuleSpec } from './model.js';
import { parseRuleTexts } from './parse.js';
import { exchangeText, parseExchange, parseInteger, parseYesNo } from './values.js';

interface Alias {
  /** none: a switch (bare, :yes); else what HOW looks like. */
  how?: string;
  rule(how: string | undefined, where: Where): { match: string; action: string };
}

const exchangeOf = (how: string | undefined, where: Where): string => exchangeText(at(where, () => parseExchange(how)));

const ALIASES: Record<string, Alias> = {
  'drop-incoming': {
    how: 'the message number N (1 = the first message)',
    rule: (how, w) => ({
      match: `dir=in,retransmit=no,nth=${at(w, () => parseInteger(how, 1, 0xffff_ffff, 'a message number 1 or more'))}`,
      action: 'drop',
    }),
  },
  'drop-outgoing': {
    how: 'the message number N (1 = the first message)',
    rule: (how, w) => ({
      match: `dir=out,retransmit=no,nth=${at(w, () => parseInteger(how, 1, 0xffff_ffff, 'a message number 1 or more'))}`,
      action: 'drop',
    }),
  },
  'jacob-two-two': { rule: () => ({ match: 'dir=out', action: 'duplicate,gap=500ms' }) },
  'replay-duplicates': { rule: () => ({ match: 'dir=in', action: 'duplicate' }) },
  'replay-forward': { rule: () => ({ match: 'dir=in', action: 'replay=forward' }) },
  'replay-backward': { rule: () => ({ match: 'dir=in', action: 'replay=backward' }) },
  'corrupt-encrypted': { rule: () => ({ match: 'dir=in', action: 'corrupt=iv' }) },
  'ke-payload': {
    how: 'omit, empty or a fill byte 0..255',
    rule: (how, w) => {
      const h = how?.trim().toLowerCase();
      if (h === 'omit' || h === 'empty') return { match: 'dir=out', action: `ke=${h}` };
      if (h === 'duplicate')
        throw new FaultSyntaxError(
          String(w),
          'omit, empty or a fill byte 0..255',
          '"duplicate"',
          'a KE payload sent twice has no ikelab equivalent',
        );
      const byte = at(w, () => parseInteger(how, 0, 255, 'omit, empty or a fill byte 0..255'));
      return { match: 'dir=out', action: `ke=fill:${byte}` };
    },
  },
  'suppress-retransmits': { rule: () => ({ match: 'dir=out,request,retransmit', action: 'no-retransmit' }) },
  'send-no-delete': { rule: () => ({ match: 'dir=out', action: 'no-delete' }) },
  'add-unknown-v2-payload-to': {
    how: 'an exchange (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL)',
    rule: (how, w) => ({ match: `dir=out,exchange=${exchangeOf(how, w)}`, action: 'unknown-payload' }),
  },
  'add-unknown-v2-payload-to-sk': {
    how: 'an encrypted exchange (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL)',
    rule: (how, w) => {
      const ex = exchangeOf(how, w);
      if (ex === exchangeText(ExchangeType.IKE_SA_INIT))
        throw new FaultSyntaxError(String(w), 'an encrypted exchange', JSON.stringify(how), 'IKE_SA_INIT has no SK payload');
      return { match: `dir=out,exchange=${ex}`, action: 'unknown-payload,sk' };
    },
  },
};

const MODIFIER = 'unknown-v2-payload-critical';
export const IMPAIR_NAMES = [...Object.keys(ALIASES), MODIFIER];

/** One `--impair` item -> [what, how]: libreswan splits WHAT from HOW at the first ':' or '='. */
function split(item: string): [string, string | undefined] {
  const m = /^([^:=]*)[:=](.*)$/.exec(item.trim());
  const what = (m ? m[1]! : item).trim().toLowerCase().replace(/_/g, '-');
  return [what, m ? m[2]!.trim() : undefined];
}

/** libreswan impair items (`drop-incoming:3`, `jacob-two-two`, ...) -> rule specs named `impair:WHAT[:HOW]`. */
export function parseImpair(items: readonly string[], base = '--impair'): FaultRuleSpec[] {
  const rules: FaultRuleSpec[] = [];
  let critical = false;
  for (const item of items) {
    const [what, how] = split(item);
    const w = new Where(base, ' ').key(what);
    if (what.startsWith('no-') || how?.toLowerCase() === 'no') {
      throw new FaultSyntaxError(
        String(w),
        'an impairment to switch on',
        JSON.stringify(item),
        'to switch one off, clear its rule by name',
      );
    }
    if (what === MODIFIER) {
      if (how !== undefined && !at(w, () => parseYesNo(how)))
        throw new FaultSyntaxError(String(w), 'no value (or yes)', JSON.stringify(how));
      critical = true;
      continue;
    }
    const alias = ALIASES[what];
    if (!alias) throw unknownKey(new Where(base, ' '), what, IMPAIR_NAMES, 'impair');
    if (!alias.how && how !== undefined && !at(w, () => parseYesNo(how)))
      throw new FaultSyntaxError(String(w), 'no value (or yes)', JSON.stringify(how));
    if (alias.how && how === undefined) throw new FaultSyntaxError(String(w), `${what}:HOW, HOW being ${alias.how}`, 'no value');
    const { match, action } = alias.rule(alias.how ? how : undefined, w);
    const name = `impair:${what}${alias.how ? `:${how}` : ''}`;
    rules.push(parseRuleTexts({ name: name.replace(/[^A-Za-z0-9_.:@-]/g, '_'), match, action }));
  }
  if (critical) {
    const targets = rules.filter((r) => r.action.type === 'unknown-payload');
    if (!targets.length)
      throw new FaultSyntaxError(
        `${base} ${MODIFIER}`,
        `${MODIFIER} together with add-unknown-v2-payload-to`,
        undefined,
        'it only marks that payload critical',
      );
    for (const r of targets) if (r.action.type === 'unknown-payload') r.action.critical = true;
  }
  return rules;
}
