// The action vocabulary: for each action its syntax (value and options), where it can act (layer, direction),
// and its canonical spelling. Text form: NAME[=VALUE][,OPTION[=VALUE]]...  (index.ts lists them all).

import { ValueError } from '../config/errors.js';
import { Notify } from '../wire/constants.js';
import { at, FaultSyntaxError, unknownKey, type Where } from './errors.js';
import type { ActionType, Direction, FaultAction, Layer } from './model.js';
import type { Entry } from './syntax.js';
import { formatDurationMs, notifyText, parseDhGroup, parseDurationMs, parseInteger, parseNotifyType, parseYesNo } from './values.js';

export interface ActionTraits {
  layers: readonly Layer[];
  dirs: readonly Direction[];
}

const BOTH: readonly Layer[] = ['ike', 'esp'];
const IKE: readonly Layer[] = ['ike'];
const ESP: readonly Layer[] = ['esp'];
const INOUT: readonly Direction[] = ['in', 'out'];
const OUT: readonly Direction[] = ['out'];
const IN: readonly Direction[] = ['in'];

/** Content changes (ke, unknown-payload, wrong-*) exist only where we build the message: outbound. */
export const ACTION_TRAITS: Readonly<Record<ActionType, ActionTraits>> = {
  drop: { layers: BOTH, dirs: INOUT },
  delay: { layers: BOTH, dirs: INOUT },
  duplicate: { layers: BOTH, dirs: INOUT },
  reorder: { layers: BOTH, dirs: INOUT },
  corrupt: { layers: BOTH, dirs: INOUT },
  truncate: { layers: BOTH, dirs: INOUT },
  notify: { layers: IKE, dirs: INOUT },
  ke: { layers: IKE, dirs: OUT },
  'unknown-payload': { layers: IKE, dirs: OUT },
  'wrong-spi': { layers: BOTH, dirs: OUT },
  'wrong-mid': { layers: IKE, dirs: OUT },
  'no-retransmit': { layers: IKE, dirs: OUT },
  'no-delete': { layers: IKE, dirs: OUT },
  replay: { layers: IKE, dirs: IN },
  dead: { layers: BOTH, dirs: INOUT },
  collide: { layers: IKE, dirs: IN },
  'esp-replay': { layers: ESP, dirs: INOUT },
  'esp-seq-jump': { layers: ESP, dirs: OUT },
};

export const ACTION_NAMES = Object.keys(ACTION_TRAITS) as ActionType[];

/** RFC 7296 payload type space 128-255 is private use: nobody's parser knows 255 as anything. */
export const DEFAULT_UNKNOWN_PAYLOAD = 255;
export const DEFAULT_REORDER_MAX_MS = 10_000;

type Opts = Record<string, unknown>;

interface Syntax {
  /** What the value looks like, for errors; undefined: the action takes no value. */
  value?: string;
  required?: boolean;
  options?: Record<string, (v: unknown) => unknown>;
  build(value: unknown, o: Opts, where: Where): FaultAction;
}

const flagOpt = (v: unknown): boolean => parseYesNo(v);

/** `NAME:GROUP` -> [NAME, GROUP] (only for strings; YAML may give a number for NAME). */
function splitColon(v: unknown): [unknown, unknown] {
  if (typeof v !== 'string') return [v, undefined];
  const i = v.indexOf(':');
  return i < 0 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)];
}

const SYNTAX: Record<ActionType, Syntax> = {
  drop: { build: () => ({ type: 'drop' }) },
  delay: { value: 'a duration such as 400ms', required: true, build: (v) => ({ type: 'delay', ms: parseDurationMs(v, 1) }) },
  duplicate: {
    value: 'a number of extra copies 1..10',
    options: { gap: (v) => parseDurationMs(v) },
    build: (v, o) => ({
      type: 'duplicate',
      copies: v === undefined ? 1 : parseInteger(v, 1, 10, 'a number of extra copies 1..10'),
      gapMs: (o.gap as number) ?? 0,
    }),
  },
  reorder: {
    value: 'how many later messages overtake it, 1..100000',
    options: { max: (v) => parseDurationMs(v, 1) },
    build: (v, o) => ({
      type: 'reorder',
      after: v === undefined ? 1 : parseInteger(v, 1, 100_000, 'how many later messages overtake it, 1..100000'),
      maxMs: (o.max as number) ?? DEFAULT_REORDER_MAX_MS,
    }),
  },
  corrupt: {
    value: 'icv (default) or iv',
    build: (v) => {
      const s = v === undefined ? 'icv' : typeof v === 'string' ? v.trim().toLowerCase() : v;
      if (s !== 'icv' && s !== 'iv') throw new ValueError('icv or iv', v);
      return { type: 'corrupt', where: s };
    },
  },
  truncate: {
    value: 'bytes to keep (100), or negative to cut from the end (-4)',
    required: true,
    build: (v) => ({ type: 'truncate', keep: parseInteger(v, -65535, 65535, 'bytes to keep (100), or negative to cut from the end (-4)') }),
  },
  notify: {
    value: 'an error notify, INVALID_KE_PAYLOAD with its group (INVALID_KE_PAYLOAD:19)',
    required: true,
    options: { group: parseDhGroup },
    build: (v, o, where) => {
      const [name, g] = splitColon(v);
      const notify = parseNotifyType(name, true);
      if (g !== undefined && o.group !== undefined)
        throw new FaultSyntaxError(String(where), 'the group once, as :GROUP or group=', 'both');
      const group = g !== undefined ? parseDhGroup(g) : (o.group as number | undefined);
      if (notify === Notify.INVALID_KE_PAYLOAD && group === undefined) {
        throw new ValueError('INVALID_KE_PAYLOAD:GROUP', v, 'RFC 7296 3.10.1: its data is the DH group the responder accepts');
      }
      if (notify !== Notify.INVALID_KE_PAYLOAD && group !== undefined)
        throw new ValueError(`${notifyText(notify)} without a group`, v, 'only INVALID_KE_PAYLOAD carries one');
      return group === undefined ? { type: 'notify', notify } : { type: 'notify', notify, group };
    },
  },
  ke: {
    value: 'omit, empty, group:N (offer another DH group) or fill:BYTE (KE data filled with BYTE)',
    required: true,
    build: (v) => {
      const [mode, arg] = splitColon(v);
      const m = typeof mode === 'string' ? mode.trim().toLowerCase() : mode;
      if ((m === 'omit' || m === 'empty') && arg === undefined) return { type: 'ke', mode: m };
      if (m === 'group' && arg !== undefined) return { type: 'ke', mode: 'group', group: parseDhGroup(arg) };
      if (m === 'fill' && arg !== undefined) return { type: 'ke', mode: 'fill', byte: parseInteger(arg, 0, 255, 'a byte value 0..255') };
      const hint =
        typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v.trim()))
          ? 'write group:N for another DH group, fill:N for KE data filled with byte N'
          : undefined;
      throw new ValueError('omit, empty, group:N or fill:BYTE', v, hint);
    },
  },
  'unknown-payload': {
    value: 'a payload type 1..255 (default 255, private use)',
    options: { critical: flagOpt, sk: flagOpt },
    build: (v, o) => ({
      type: 'unknown-payload',
      payloadType: v === undefined ? DEFAULT_UNKNOWN_PAYLOAD : parseInteger(v, 1, 255, 'a payload type 1..255'),
      critical: (o.critical as boolean) ?? false,
      sk: (o.sk as boolean) ?? false,
    }),
  },
  'wrong-spi': { build: () => ({ type: 'wrong-spi' }) },
  'wrong-mid': {
    value: '+N or -N (relative to the real one) or N (this message ID); default +1',
    build: (v) => {
      if (v === undefined) return { type: 'wrong-mid', offset: 1 };
      if (typeof v === 'string' && /^\s*[+-]/.test(v)) {
        const offset = parseInteger(v, -0xffff_ffff, 0xffff_ffff, '+N or -N');
        if (offset === 0) throw new ValueError('a non-zero offset', v, 'an offset of 0 is the real message ID');
        return { type: 'wrong-mid', offset };
      }
      return { type: 'wrong-mid', value: parseInteger(v, 0, 0xffff_ffff, '+N, -N or a message ID 0..4294967295') };
    },
  },
  'no-retransmit': { build: () => ({ type: 'no-retransmit' }) },
  'no-delete': { build: () => ({ type: 'no-delete' }) },
  replay: {
    value: 'forward (old to new) or backward (new to old)',
    required: true,
    build: (v) => {
      const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
      if (s !== 'forward' && s !== 'backward') throw new ValueError('forward or backward', v);
      return { type: 'replay', order: s };
    },
  },
  dead: { build: () => ({ type: 'dead' }) },
  collide: {
    value: "win (ikelab's rekey survives) or lose (the peer's does)",
    required: true,
    build: (v) => {
      const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
      if (s !== 'win' && s !== 'lose') throw new ValueError("win (ikelab's rekey survives) or lose (the peer's does)", v);
      return { type: 'collide', outcome: s };
    },
  },
  'esp-replay': {
    value: 'how many of the last packets to replay, 1..64',
    build: (v) => ({
      type: 'esp-replay',
      count: v === undefined ? 1 : parseInteger(v, 1, 64, 'how many of the last packets to replay, 1..64'),
    }),
  },
  'esp-seq-jump': {
    value: 'how far to advance the sequence number, 1..4294967296',
    required: true,
    build: (v) => ({
      type: 'esp-seq-jump',
      by: parseInteger(v, 1, 0x1_0000_0000, 'how far to advance the sequence number, 1..4294967296'),
    }),
  },
};

/**
 * Entries -> action. Exactly one entry must name an action (CLI: the first; YAML: any key); the others are its
 * options. A bare flag (value true) is "no value".
 */
export function parseActionEntries(entries: Entry[], where: Where, yaml: boolean): FaultAction {
  const named = entries.filter((e) => Object.hasOwn(SYNTAX, e.key));
  if (named.length === 0) {
    const first = entries[0];
    if (!first) throw new FaultSyntaxError(String(where), `an action: ${ACTION_NAMES.join(', ')}`, 'nothing');
    throw unknownKey(where, first.key, ACTION_NAMES, 'action');
  }
  if (named.length > 1)
    throw new FaultSyntaxError(String(where), 'one action per rule', `${named.map((e) => e.key).join(' and ')}`, 'add one rule per action');
  const act = named[0]!;
  if (!yaml && entries[0] !== act)
    // act is one of the entries, so there is a first one
    throw new FaultSyntaxError(String(where), 'the action first, then its options', JSON.stringify(entries[0]!.key));
  const type = act.key as ActionType;
  const syn = SYNTAX[type];
  const value = act.value === true ? undefined : act.value;
  if (value !== undefined && !syn.value) throw new FaultSyntaxError(String(act.where), `${type} without a value`, JSON.stringify(value));
  if (value === undefined && syn.required) throw new FaultSyntaxError(String(act.where), `a value: ${syn.value}`, 'none');
  const opts: Opts = {};
  for (const e of entries) {
    if (e === act) continue;
    const opt = syn.options?.[e.key];
    if (!opt) {
      const known = Object.keys(syn.options ?? {});
      if (!known.length) throw new FaultSyntaxError(String(act.where), 'no options', JSON.stringify(e.key));
      throw unknownKey(act.where, e.key, known, 'option');
    }
    opts[e.key] = at(e.where, () => opt(e.value));
  }
  return at(act.where, () => syn.build(value, opts, act.where));
}

/** The canonical CLI spelling; parseActionEntries(textEntries(formatAction(a))) gives `a` back. */
export function formatAction(a: FaultAction): string {
  switch (a.type) {
    case 'delay':
      return `delay=${formatDurationMs(a.ms)}`;
    case 'duplicate':
      return `duplicate${a.copies !== 1 ? `=${a.copies}` : ''}${a.gapMs ? `,gap=${formatDurationMs(a.gapMs)}` : ''}`;
    case 'reorder':
      return `reorder${a.after !== 1 ? `=${a.after}` : ''}${a.maxMs !== DEFAULT_REORDER_MAX_MS ? `,max=${formatDurationMs(a.maxMs)}` : ''}`;
    case 'corrupt':
      return `corrupt=${a.where}`;
    case 'truncate':
      return `truncate=${a.keep}`;
    case 'notify':
      return `notify=${notifyText(a.notify)}${a.group !== undefined ? `:${a.group}` : ''}`;
    case 'ke':
      return a.mode === 'group' ? `ke=group:${a.group}` : a.mode === 'fill' ? `ke=fill:${a.byte}` : `ke=${a.mode}`;
    case 'unknown-payload':
      return `unknown-payload${a.payloadType !== DEFAULT_UNKNOWN_PAYLOAD ? `=${a.payloadType}` : ''}${a.critical ? ',critical' : ''}${a.sk ? ',sk' : ''}`;
    case 'wrong-mid':
      return a.value !== undefined ? `wrong-mid=${a.value}` : `wrong-mid=${a.offset! > 0 ? '+' : ''}${a.offset}`;
    case 'replay':
      return `replay=${a.order}`;
    case 'collide':
      return `collide=${a.outcome}`;
    case 'esp-replay':
      return `esp-replay=${a.count}`;
    case 'esp-seq-jump':
      return `esp-seq-jump=${a.by}`;
    default:
      return a.type;
  }
}
