// The report of `ikelab convert` (convert.ts): what of the input the output leaves out (ignored: the swanctl path,
// where it was written, why) and what the output spells out that the input did not write (added). The same lines
// go to stderr and, as comments, to the top of the YAML, so the converted file itself says what it does not do.
// Line references are as short as still unambiguous: `line 12` in the swanctl.conf given, a path relative to it in
// an included file.

import { basename, dirname, relative } from 'node:path';
import type { SourcePos } from './parse.js';

/** A key (or section) of the input that is not in the output. */
export interface Ignored {
  /** Dotted path as in the input: `connections.rw.pools`. */
  path: string;
  pos: SourcePos;
  reason: string;
}

/** A key the output has that the input did not write (a default ikelab needs spelt out). */
export interface Added {
  path: string;
  value: string;
  reason: string;
}

/** The files converted, as given (ConvertInput's paths): what line references are relative to. */
export interface SourceFiles {
  swanctlFile: string;
  strongswanFile?: string;
}

/** Sorts the report into the order of the input: by file (as first met), then line. */
export function sortInInputOrder(ignored: Ignored[]): void {
  const files = [...new Set(ignored.map((i) => i.pos.file))];
  ignored.sort((a, b) => files.indexOf(a.pos.file) - files.indexOf(b.pos.file) || a.pos.line - b.pos.line);
}

/** `line 12` in the swanctl.conf given, `conf.d/x.conf line 3` in an included file, `strongswan.conf line 2`. */
export function posText(pos: SourcePos, input: SourceFiles): string {
  if (pos.file === input.swanctlFile) return `line ${pos.line}`;
  if (pos.file === input.strongswanFile) return `${basename(pos.file)} line ${pos.line}`;
  const rel = relative(dirname(input.swanctlFile), pos.file);
  return `${rel.startsWith('..') ? pos.file : rel} line ${pos.line}`;
}

export function formatIgnored(i: Ignored, input: SourceFiles): string {
  return `ignored: ${i.path} (${posText(i.pos, input)}): ${i.reason}`;
}

export function formatAdded(a: Added): string {
  return `added: ${a.path} = ${a.value}: ${a.reason}`;
}

/** The report as the YAML's opening comment, one line per entry (a reason's newlines would end the comment). */
export function reportHeader(input: SourceFiles, ignored: Ignored[], added: Added[]): string {
  const from = [basename(input.swanctlFile), input.strongswanFile && basename(input.strongswanFile)].filter(Boolean).join(' and ');
  const lines = [`ikelab config converted from ${from} by \`ikelab convert\``];
  if (!ignored.length) lines.push('nothing ignored');
  for (const i of ignored) lines.push(formatIgnored(i, input));
  for (const a of added) lines.push(formatAdded(a));
  return `${lines.map((l) => `# ${l.replace(/\n/g, ' ')}`).join('\n')}\n\n`;
}
