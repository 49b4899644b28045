// Reading a config file: YAML -> schema (schema.ts) -> defaults (build.ts), every problem reported as one
// ConfigError naming the file, the key path, what was expected there and the line.

import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { buildConfig } from './build.js';
import { ConfigError } from './errors.js';
import { configSchema } from './schema.js';
import type { IssueInfo } from './schema-helpers.js';
import type { IkelabConfig } from './types.js';

export function loadConfig(path: string): IkelabConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError({ file: path, keyPath: '', expected: 'a readable config file', got: err.code ?? 'an error', detail: err.message });
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, fileName: string): IkelabConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    // 0x.. and 0o.. stay strings (secrets such as 0x1234 are swanctl hex, not numbers)
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || !(t.tag === 'tag:yaml.org,2002:int' && 'format' in t
      && (t.format === 'HEX' || t.format === 'OCT'))),
  });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new ConfigError({
      file: fileName,
      keyPath: '',
      expected: 'valid YAML',
      got: 'a syntax error',
      detail: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      line: pos?.line,
      column: pos?.col,
    });
  }
  keepIdentityText(doc);
  const data = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  const where = (path: (string | number)[], key?: string) => position(doc, lines, path, key);

  const result = configSchema.safeParse(data);
  if (!result.success) {
    const found = result.error.issues.map((issue) => {
      const info = issueInfo(issue);
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const fullPath = info.key !== undefined ? [...path, info.key] : path;
      return { info, path: fullPath, pos: where(path, info.key) };
    });
    // report the problem that comes first in the file
    found.sort((a, b) => (a.pos?.line ?? Infinity) - (b.pos?.line ?? Infinity));
    const { info, path, pos } = found[0];
    throw new ConfigError({ file: fileName, keyPath: formatPath(path), ...info, line: pos?.line, column: pos?.col });
  }
  return buildConfig(result.data, fileName, (path, info) => {
    const pos = where(path);
    throw new ConfigError({ file: fileName, keyPath: formatPath(path), ...info, line: pos?.line, column: pos?.col });
  });
}

/** `connections.bar.children.net.esp_proposals[0]` */
export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function issueInfo(issue: { message: string; code: string; input?: unknown }): IssueInfo & { key?: string } {
  if (issue.message.startsWith('{')) {
    try {
      return JSON.parse(issue.message) as IssueInfo & { key?: string };
    } catch {
      // fall through
    }
  }
  return { expected: 'a valid value', detail: issue.message };
}

/** Identities and secrets are text even when they look like numbers (`id: 12345`, `secret: 0123`). */
function keepIdentityText(doc: Document): void {
  const asText = (node: unknown): void => {
    if (isScalar(node) && typeof node.value === 'number' && node.source) node.value = node.source;
    if (isSeq(node)) node.items.forEach(asText);
  };
  visit(doc, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (key === 'secret' || key.startsWith('id')) asText(pair.value);
    },
  });
}

/** Line and column of the YAML node at path (of the key itself when key is given), or of its nearest parent. */
function position(doc: Document, lines: LineCounter, path: (string | number)[], key?: string) {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as unknown;
    if (n === path.length && key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return lines.linePos(range[0]);
    }
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]);
  }
  return undefined;
}
