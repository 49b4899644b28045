// A reader for strongSwan's settings syntax, the one swanctl.conf and strongswan.conf share: `name { ... }`
// sections, `key = value` lines, `#` comments, quoted strings, `include PATTERN` and `name : other { }` section
// references. It keeps where every key was written (file and line) so the converter can point at the source of
// each key it maps or ignores, and every syntax error names the file and line.
//
// Written from the documented syntax (strongswan.conf(5), swanctl.conf(5)), not from strongSwan's lexer; where the
// manual page says nothing, the choices are noted at the spot.

import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { readConfigFileSync } from '../load.js';

/** Where a key or section was written. */
export interface SourcePos {
  file: string;
  line: number;
}

export interface SettingsValue extends SourcePos {
  kind: 'value';
  name: string;
  /** The text after `=`, unquoted and trimmed; '' for `key =`. */
  value: string;
}

export interface SettingsSection extends SourcePos {
  kind: 'section';
  name: string;
  /** Keys and subsections in the order they first appeared; a repeated key keeps its place, the later value wins. */
  entries: Map<string, SettingsEntry>;
  /** `name : a, b { }`: dotted paths of sections whose keys this one inherits (resolved by parseSettings*). */
  refs: string[];
}

export type SettingsEntry = SettingsValue | SettingsSection;

/** A syntax or include problem: `file:line: message`. */
export class SettingsSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.name = 'SettingsSyntaxError';
  }
}

export interface ParseSettingsOptions {
  /** Reads an included file (tests pass a map); default: the config loader's bounded, regular-files-only reader. */
  readFile?: (path: string) => string;
  /** Lists a directory for `include dir/*.conf`; default readdirSync. */
  listDir?: (dir: string) => string[];
}

/** Includes nest this deep at most: a file including itself ends here instead of recursing forever. */
const MAX_INCLUDE_DEPTH = 10;

export function parseSettingsFile(path: string, opts: ParseSettingsOptions = {}): SettingsSection {
  const read = opts.readFile ?? ((p: string) => readConfigFileSync(p).text);
  return parseSettingsText(read(path), path, opts);
}

export function parseSettingsText(text: string, file: string, opts: ParseSettingsOptions = {}): SettingsSection {
  const root = newSection('', file, 1);
  new Parser(text, file, root, opts, 0).parseBody(true);
  resolveRefs(root, root, []);
  return root;
}

function newSection(name: string, file: string, line: number): SettingsSection {
  return { kind: 'section', name, file, line, entries: new Map(), refs: [] };
}

/** Characters that end a key or section name. */
const NAME_END = /[\s{}=#"':,]/;

class Parser {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly into: SettingsSection,
    private readonly opts: ParseSettingsOptions,
    private readonly depth: number,
  ) {}

  private fail(reason: string, line = this.line): never {
    throw new SettingsSyntaxError(this.file, line, reason);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private advance(): string {
    const c = this.text[this.pos++]!;
    if (c === '\n') this.line++;
    return c;
  }

  /** Blanks, newlines and comments (to the end of their line). */
  private skipSpace(newlines = true): void {
    for (;;) {
      const c = this.peek();
      if (c === undefined) return;
      if (c === '#') {
        while (this.peek() !== undefined && this.peek() !== '\n') this.advance();
      } else if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) {
        this.advance();
      } else return;
    }
  }

  private name(): string {
    const start = this.pos;
    while (this.peek() !== undefined && !NAME_END.test(this.peek()!)) this.advance();
    return this.text.slice(start, this.pos);
  }

  /** Entries until `}` (a section) or the end of the text (top level). */
  parseBody(topLevel: boolean, section = this.into): void {
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === undefined) {
        if (!topLevel) this.fail(`section "${section.name}" (line ${section.line}) is not closed with "}"`);
        return;
      }
      if (c === '}') {
        if (topLevel) this.fail('"}" without an open section');
        this.advance();
        return;
      }
      const line = this.line;
      const name = this.name();
      if (!name) this.fail(`expected a key or section name, got "${c === '\n' ? '\\n' : c}"`);
      if (name === 'include') {
        // `include` is a statement unless it is used as a key or section name
        const save = { pos: this.pos, line: this.line };
        this.skipSpace(false);
        const next = this.peek();
        if (next !== '=' && next !== '{' && next !== ':') {
          this.include(section, this.value(true), line);
          continue;
        }
        this.pos = save.pos;
        this.line = save.line;
      }
      this.skipSpace();
      const op = this.peek();
      // `name` alone on its line (or last before `}`) is a key whose `= value` is missing, not a section to come
      const bare = op === undefined || op === '}' || (this.line !== line && op !== '{');
      if (bare) this.fail(`"${name}" needs "= value" or "{ ... }"`, line);
      if (op === '=') {
        this.advance();
        const value = this.value(false);
        const old = section.entries.get(name);
        if (old?.kind === 'section') this.fail(`"${name}" is a section (line ${old.line}) and cannot also be a key`, line);
        section.entries.set(name, { kind: 'value', name, value, file: this.file, line });
      } else if (op === '{' || op === ':') {
        const refs: string[] = [];
        if (op === ':') {
          this.advance();
          for (;;) {
            this.skipSpace();
            const ref = this.refName();
            if (!ref) this.fail(`expected the name of a section after ":" in "${name}"`);
            refs.push(ref);
            this.skipSpace();
            if (this.peek() !== ',') break;
            this.advance();
          }
          if (this.peek() !== '{') this.fail(`expected "{" after the references of section "${name}"`);
        }
        this.advance();
        let sub = section.entries.get(name);
        if (sub?.kind === 'value') this.fail(`"${name}" is a key (line ${sub.line}) and cannot also be a section`, line);
        if (!sub) {
          sub = newSection(name, this.file, line);
          section.entries.set(name, sub);
        }
        // a section written twice is one section: the second adds to (and overrides keys of) the first
        sub.refs.push(...refs);
        this.parseBody(false, sub);
      } else {
        this.fail(`expected "=" or "{" after "${name}", got "${op}"`, line);
      }
    }
  }

  /** A referenced section's dotted path: names and dots. */
  private refName(): string {
    const start = this.pos;
    while (this.peek() !== undefined && /[^\s{}=#"':,]/.test(this.peek()!)) this.advance();
    return this.text.slice(start, this.pos);
  }

  /**
   * The value after `=` (or an include's pattern): a quoted string, which may span lines and knows \" \\ \n \t \r,
   * or the rest of the line up to a comment or `}` (so `local { id = a }` works on one line), trimmed.
   */
  private value(include: boolean): string {
    this.skipSpace(false);
    if (this.peek() === '"') {
      const line = this.line;
      this.advance();
      let out = '';
      for (;;) {
        const c = this.peek();
        if (c === undefined) this.fail('quoted string not closed with "', line);
        this.advance();
        if (c === '"') break;
        if (c === '\\') {
          const e = this.peek();
          if (e === undefined) this.fail('quoted string not closed with "', line);
          this.advance();
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '\n' ? '' : e;
        } else out += c;
      }
      this.skipSpace(false);
      const rest = this.peek();
      if (rest !== undefined && rest !== '\n' && rest !== '}') this.fail(`unexpected text after the closing quote: "${rest}"`);
      return out;
    }
    const start = this.pos;
    while (this.peek() !== undefined && !/[\n#}]/.test(this.peek()!)) {
      if (this.peek() === '{') this.fail(include ? 'an include pattern cannot contain "{"' : 'a value cannot contain "{" unless quoted');
      this.advance();
    }
    const v = this.text.slice(start, this.pos).trim();
    if (include && !v) this.fail('include needs a file name or pattern');
    return v;
  }

  private include(into: SettingsSection, pattern: string, line: number): void {
    if (this.depth >= MAX_INCLUDE_DEPTH) this.fail(`includes nested deeper than ${MAX_INCLUDE_DEPTH} (a file including itself?)`, line);
    // relative to the including file, as strongSwan does
    const full = isAbsolute(pattern) ? pattern : join(dirname(resolve(this.file)), pattern);
    for (const file of this.expand(full, line)) {
      let text: string;
      try {
        text = (this.opts.readFile ?? ((p: string) => readConfigFileSync(p).text))(file);
      } catch (e) {
        this.fail(`cannot include ${file}: ${(e as Error).message}`, line);
      }
      new Parser(text, file, into, this.opts, this.depth + 1).parseBody(true);
    }
  }

  /**
   * Wildcards (* and ?) in the last path component only, the case the packaged configs use (conf.d/*.conf);
   * matches in name order. A pattern without wildcards must exist; a wildcard matching nothing includes nothing.
   */
  private expand(full: string, line: number): string[] {
    const dir = dirname(full);
    const base = full.slice(dir.length + 1);
    if (/[*?[]/.test(dir)) this.fail(`include ${full}: wildcards are supported in the file name only, not in directories`, line);
    if (!/[*?]/.test(base)) {
      if (base.includes('[')) this.fail(`include ${full}: character classes ([...]) are not supported`, line);
      return [full];
    }
    if (base.includes('[')) this.fail(`include ${full}: character classes ([...]) are not supported`, line);
    const re = new RegExp(
      `^${base
        .split('')
        .map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|\\\]]/g, '\\$&')))
        .join('')}$`,
    );
    let names: string[];
    try {
      names = (this.opts.listDir ?? ((d: string) => readdirSync(d)))(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      this.fail(`include ${full}: cannot list ${dir}: ${(e as Error).message}`, line);
    }
    // hidden files are not matched by a leading wildcard, as with shell globbing
    return names
      .filter((n) => re.test(n) && !(n.startsWith('.') && !base.startsWith('.')))
      .sort()
      .map((n) => join(dir, n));
  }
}

/** The entry at a dotted path below root, or undefined. */
export function lookup(root: SettingsSection, path: string): SettingsEntry | undefined {
  let cur: SettingsEntry | undefined = root;
  for (const part of path.split('.')) {
    if (cur?.kind !== 'section') return undefined;
    cur = cur.entries.get(part);
  }
  return cur;
}

/**
 * `conn : base { }`: the keys and subsections of base that conn does not set itself are copied in (recursively for
 * subsections both have). References are dotted paths from the top of the file, so `connections.base`.
 */
function resolveRefs(root: SettingsSection, section: SettingsSection, seen: SettingsSection[]): void {
  if (seen.includes(section)) {
    throw new SettingsSyntaxError(
      section.file,
      section.line,
      `section "${section.name}" references itself through ${section.refs.join(', ')}`,
    );
  }
  const chain = [...seen, section];
  for (const ref of section.refs.splice(0)) {
    const base = lookup(root, ref);
    if (base?.kind !== 'section') {
      throw new SettingsSyntaxError(
        section.file,
        section.line,
        `section "${section.name}" references "${ref}", which is not a section of this file`,
      );
    }
    resolveRefs(root, base, chain);
    mergeDefaults(section, base);
  }
  for (const e of section.entries.values()) if (e.kind === 'section') resolveRefs(root, e, chain);
}

function mergeDefaults(into: SettingsSection, from: SettingsSection): void {
  for (const [name, e] of from.entries) {
    const own = into.entries.get(name);
    if (!own) into.entries.set(name, e.kind === 'section' ? cloneSection(e) : e);
    else if (own.kind === 'section' && e.kind === 'section') mergeDefaults(own, e);
  }
}

function cloneSection(s: SettingsSection): SettingsSection {
  const copy = newSection(s.name, s.file, s.line);
  for (const [n, e] of s.entries) copy.entries.set(n, e.kind === 'section' ? cloneSection(e) : e);
  return copy;
}

/** A swanctl list value, `a, b , c` -> ['a', 'b', 'c'] (empty items dropped). */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
