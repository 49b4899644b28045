// What the runner's expectations compare: events against `match:` fields, SA states from list-sas, and the words a
// verdict prints (the near misses next to "no X matching Y").
import { formatEventText } from '../control/watch-cli.js';
import type { IkelabEvent } from '../log/events.js';
import type { FieldMatch } from './format.js';

/** The part of list-sas the runner reads (a local shape: src/scenario knows nothing of src/ike). */
export interface SaView {
  name: string;
  uniqueId: number;
  state: string;
  children?: { name: string; uniqueId: number; state: string }[];
}

export function stateOf(sas: SaView[], target: 'ike' | 'child', name: string): { state: string; label: string }[] {
  if (target === 'ike') return sas.filter((s) => s.name === name).map((s) => ({ state: s.state, label: `${s.name}[${s.uniqueId}]` }));
  return sas.flatMap((s) =>
    (s.children ?? []).filter((c) => c.name === name).map((c) => ({ state: c.state, label: `${c.name}{${c.uniqueId}}` })),
  );
}

export function matches(e: IkelabEvent, event: string, m: FieldMatch): boolean {
  if (e.event !== event) return false;
  for (const [k, want] of Object.entries(m)) {
    const got = e[k];
    const values = Array.isArray(got) ? got : [got];
    const ok = values.some((v) => v !== undefined && v !== null && (want instanceof RegExp ? want.test(String(v)) : String(v) === want));
    if (!ok) return false;
  }
  return true;
}

export function describeMatch(m: FieldMatch): string {
  const parts = Object.entries(m).map(([k, v]) => `${k}=${v instanceof RegExp ? `/${v.source}/` : v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** The same event name with other fields: what a reader wants next to "no X matching Y". */
export function nearMisses(seen: IkelabEvent[], event: string): string {
  const same = seen.filter((e) => e.event === event);
  if (!same.length) return '';
  return `; saw ${same.length} other ${event}: ${same
    .slice(-3)
    .map((e) => formatEventText(e, false))
    .join(' | ')}`;
}

export function short(v: unknown): string {
  const t = JSON.stringify(v) ?? 'ok';
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
}
