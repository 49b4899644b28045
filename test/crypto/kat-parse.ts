// Test helper: extracts the labelled hex dumps of a strongSwan level-4 charon log, in log order.
// A dump is a line `NN[GRP] LABEL => N bytes @ 0x...` followed by rows `NN[GRP]   OFF: HEX..  ascii`
// from the same thread; threads interleave, so rows are matched to their dump by thread number.
import { readFileSync } from 'node:fs';

export interface Dump {
  /** 1-based line of the label in the log. */
  line: number;
  thread: string;
  group: string;
  label: string;
  data: Buffer;
}

const LABEL = /^(\d+)\[(\w+)\] (.*?) ?=> (\d+) bytes @ /;
const ROW = /^(\d+)\[(\w+)\]\s+(\d+): (.*)$/;
const HEX_WINDOW = 48; // 16 columns of "XX "; the ascii column starts after it

export function parseDumps(text: string): Dump[] {
  const dumps: Dump[] = [];
  const open = new Map<string, { dump: Dump; want: number; rows: Buffer[]; have: number }>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const l = LABEL.exec(line);
    if (l) {
      const [, thread, group, label, len] = l;
      const dump: Dump = { line: n + 1, thread: thread!, group: group!, label: label!.trim(), data: Buffer.alloc(0) };
      dumps.push(dump);
      const want = Number(len);
      if (want > 0) open.set(thread!, { dump, want, rows: [], have: 0 });
      else open.delete(thread!);
      continue;
    }
    const r = ROW.exec(line);
    if (!r) continue;
    const pending = open.get(r[1]!);
    if (!pending || Number(r[3]) !== pending.have) continue;
    const hex = r[4]!.slice(0, HEX_WINDOW).trim().split(/\s+/);
    if (!hex.every((h) => /^[0-9A-F]{2}$/.test(h))) throw new Error(`bad hex row at line ${n + 1}`);
    const row = Buffer.from(hex.join(''), 'hex');
    pending.rows.push(row);
    pending.have += row.length;
    if (pending.have >= pending.want) {
      pending.dump.data = Buffer.concat(pending.rows).subarray(0, pending.want);
      open.delete(r[1]!);
    }
  }
  for (const p of open.values()) throw new Error(`dump at line ${p.dump.line} is incomplete`);
  return dumps;
}

export function parseLogFile(path: string): Dump[] {
  return parseDumps(readFileSync(path, 'utf8'));
}

/** All dumps with exactly this label (empty-labelled generator dumps are never wanted). */
export function byLabel(dumps: Dump[], label: string): Dump[] {
  return dumps.filter((d) => d.label === label);
}

/** Exactly one dump with this label, else throw: guards against a silently wrong mapping. */
export function single(dumps: Dump[], label: string): Buffer {
  const found = byLabel(dumps, label);
  if (found.length !== 1) throw new Error(`expected one '${label}' dump, found ${found.length}`);
  return found[0]!.data;
}
