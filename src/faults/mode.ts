// The old `fault --mode silent|delay|normal [--ms N] [--ike NAME]` verb as fault rules, so it keeps working as
// shorthand once the hooks go through the engine. Each mode owns one well-known rule name; setting a mode
// replaces its rule, `normal` clears both (as Daemon.setFault did).
//
//   silent [--ike bar]   -> mode:silent  --match dir=in[,ike=bar] --action drop
//   delay --ms 400       -> mode:delay   --match dir=in[,ike=bar] --action delay=400ms
//   normal               -> clear mode:silent and mode:delay
//
// Differences from the hook-based verb, both deliberate: `--ike` now narrows delay too (it was ignored there), and
// silent drops at the receive hook, before a cached response to a retransmit is resent (a dead peer answers
// nothing, not even retransmits). Datagrams for no IKE_SA (unknown SPIs) are no longer delayed: they reach no hook.

import { at, FaultSyntaxError, Where } from './errors.js';
import type { FaultEngine } from './engine.js';
import type { FaultRuleSpec, HeldRef } from './model.js';
import { parseRuleTexts } from './parse.js';
import { parseName } from './values.js';

export type FaultMode = 'silent' | 'delay' | 'normal';

export const MODE_RULE_NAMES = { silent: 'mode:silent', delay: 'mode:delay' } as const;

/** The limits the control socket enforced for --ms. */
export const MODE_DELAY_MAX_MS = 60_000;

export interface ModeTranslation {
  clear: string[];
  add: FaultRuleSpec[];
  /** What the verb used to answer: `normal`, `delay 400 ms`, `silent for bar`. */
  summary: string;
}

export function faultModeRules(mode: string, ike?: string, delayMs?: number): ModeTranslation {
  if (mode !== 'silent' && mode !== 'delay' && mode !== 'normal')
    throw new FaultSyntaxError('--mode', 'silent, delay or normal', JSON.stringify(mode));
  if (mode === 'normal') return { clear: [MODE_RULE_NAMES.silent, MODE_RULE_NAMES.delay], add: [], summary: 'normal' };
  const ikePart = ike !== undefined ? `,ike=${at(new Where('--ike', ' '), () => parseName(ike, 'a connection name'))}` : '';
  if (mode === 'silent') {
    const rule = parseRuleTexts({ name: MODE_RULE_NAMES.silent, match: `dir=in${ikePart}`, action: 'drop' });
    return { clear: [MODE_RULE_NAMES.silent], add: [rule], summary: `silent${ike ? ` for ${ike}` : ''}` };
  }
  if (!(Number.isInteger(delayMs) && delayMs! >= 1 && delayMs! <= MODE_DELAY_MAX_MS)) {
    throw new FaultSyntaxError(
      '--ms',
      `a delay in ms, 1..${MODE_DELAY_MAX_MS}, with --mode delay`,
      delayMs === undefined ? 'nothing' : String(delayMs),
    );
  }
  const rule = parseRuleTexts({ name: MODE_RULE_NAMES.delay, match: `dir=in${ikePart}`, action: `delay=${delayMs}ms` });
  return { clear: [MODE_RULE_NAMES.delay], add: [rule], summary: `delay ${delayMs} ms${ike ? ` for ${ike}` : ''}` };
}

/** Apply a mode to an engine; returns the summary and any held messages to let go. */
export function applyFaultMode(engine: FaultEngine, mode: string, ike?: string, delayMs?: number): { summary: string; release: HeldRef[] } {
  const t = faultModeRules(mode, ike, delayMs);
  const release: HeldRef[] = [];
  for (const name of t.clear) release.push(...engine.clear(name).release);
  for (const rule of t.add) engine.add(rule);
  return { summary: t.summary, release };
}
