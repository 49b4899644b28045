// Reading a config file: YAML -> schema (schema.ts) -> defaults (build.ts), every problem reported as one
// ConfigError naming the file, the key path, what was expected there and the line.
//
// The file is read with care because the control socket's `load --config PATH` makes the daemon (often root) read
// a path it is handed: only regular files (never a FIFO, /dev/zero or a directory), at most MAX_CONFIG_BYTES, and a
// file that does not look like an ikelab config never has its text quoted back in an error (/etc/shadow).

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { buildConfig } from './build.js';
import { ConfigError } from './errors.js';
import { configSchema } from './schema.js';
import type { IssueInfo } from './schema-helpers.js';
import { type StartupEnv, startupChecks } from './startup-checks.js';
import type { IkelabConfig } from './types.js';

export interface ParseOptions {
  /** Also run `ikelab start`'s checks (startup-checks.ts): connections, listen addresses, socket directory, PSKs. */
  startup?: StartupEnv;
}

/** Config files are a few KiB; anything past 1 MiB is a mistake or an attempt to exhaust memory. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * O_NONBLOCK: opening a FIFO read-only otherwise waits for a writer (a libuv thread, or the whole daemon when
 * synchronous, stuck forever); it changes nothing for regular files. O_NOCTTY: a tty never becomes ours.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
const READ_CHUNK = 64 * 1024;

/** The text of a config file and its permission bits (for the secrets-readable-by-others warning). */
export interface ConfigFile {
  text: string;
  mode: number;
}

/** Synchronous: for the CLI and daemon start-up, where nothing else is running yet. */
export function loadConfig(path: string, opts: ParseOptions = {}): IkelabConfig {
  return parseConfig(readConfigFileSync(path).text, path, opts);
}

/** Asynchronous, for a running daemon (the control socket's `load`): never blocks the event loop. */
export async function loadConfigFile(path: string): Promise<{ config: IkelabConfig; mode: number }> {
  const file = await readConfigFile(path);
  return { config: parseConfig(file.text, path), mode: file.mode };
}

export function readConfigFileSync(path: string): ConfigFile {
  let fd: number | undefined;
  try {
    // stat the path first so a device is never even opened (opening some has side effects), then the opened fd,
    // which is what gets read (the path may have been swapped in between)
    checkRegular(path, statSync(path));
    fd = openSync(path, OPEN_FLAGS);
    const st = checkRegular(path, fstatSync(fd));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      // the size from fstat can lie (/proc files say 0, a file can grow): count what is actually read
      if ((total += n) > MAX_CONFIG_BYTES) throw tooBig(path, total, true);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), mode: st.mode };
  } catch (e) {
    throw asConfigError(path, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function readConfigFile(path: string): Promise<ConfigFile> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    checkRegular(path, await stat(path));
    fh = await open(path, OPEN_FLAGS);
    const st = checkRegular(path, await fh.stat());
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      if ((total += bytesRead) > MAX_CONFIG_BYTES) throw tooBig(path, total, true);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), mode: st.mode };
  } catch (e) {
    throw asConfigError(path, e);
  } finally {
    await fh?.close();
  }
}

function checkRegular(path: string, st: Stats): Stats {
  if (!st.isFile()) {
    const kind = st.isDirectory()
      ? 'a directory'
      : st.isFIFO()
        ? 'a FIFO'
        : st.isCharacterDevice()
          ? 'a character device'
          : st.isBlockDevice()
            ? 'a block device'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
    throw new ConfigError({ file: path, keyPath: '', expected: 'a regular config file', got: kind });
  }
  if (st.size > MAX_CONFIG_BYTES) throw tooBig(path, st.size);
  return st;
}

function tooBig(path: string, size: number, atLeast = false): ConfigError {
  const got = `${size} bytes${atLeast ? ' or more' : ''}`;
  return new ConfigError({ file: path, keyPath: '', expected: `a config file of at most ${MAX_CONFIG_BYTES} bytes`, got });
}

function asConfigError(path: string, e: unknown): ConfigError {
  if (e instanceof ConfigError) return e;
  const err = e as NodeJS.ErrnoException;
  return new ConfigError({ file: path, keyPath: '', expected: 'a readable config file', got: err.code ?? 'an error', detail: err.message });
}

/**
 * ssh-style: the warning to log when a config file that holds secrets (PSKs) can be read by group or others, or
 * undefined. mode is the file's st_mode.
 */
export function exposedSecretsWarning(cfg: IkelabConfig, mode: number): string | undefined {
  if (!cfg.secrets.length || (mode & 0o077) === 0) return undefined;
  const perm = (mode & 0o777).toString(8).padStart(4, '0');
  return (
    `config file ${cfg.file} holds ${cfg.secrets.length} secret(s) but permissions ${perm} give group or others access to it; ` +
    `chmod 600 it`
  );
}

export function parseConfig(text: string, fileName: string, opts: ParseOptions = {}): IkelabConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    // 0x.. and 0o.. stay strings (secrets such as 0x1234 are swanctl hex, not numbers)
    customTags: (tags) =>
      tags.filter(
        (t) => typeof t === 'string' || !(t.tag === 'tag:yaml.org,2002:int' && 'format' in t && (t.format === 'HEX' || t.format === 'OCT')),
      ),
  });
  const foreign = notConfigShaped(doc, lines);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError({
      file: fileName,
      keyPath: '',
      expected: 'valid YAML',
      got: 'a syntax error',
      // the parser's message can quote the text (an alias or tag name): only its fixed code for a foreign file
      detail: foreign ? e.code : e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      line: pos?.line,
      column: pos?.col,
    });
  }
  if (foreign) throw new ConfigError({ file: fileName, keyPath: '', ...foreign });
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
    const { info, path, pos } = found[0]!; // a failed parse has at least one issue
    throw new ConfigError({ file: fileName, keyPath: formatPath(path), ...info, line: pos?.line, column: pos?.col });
  }
  const fail = (path: (string | number)[], info: IssueInfo): never => {
    const pos = where(path);
    throw new ConfigError({ file: fileName, keyPath: formatPath(path), ...info, line: pos?.line, column: pos?.col });
  };
  const cfg = buildConfig(result.data, fileName, fail);
  if (opts.startup) startupChecks(cfg, fail, opts.startup);
  return cfg;
}

/**
 * Line and column of a key path in a config text (of its nearest parent that is written when the key is not),
 * for problems found after loading: a port that cannot be bound is reported at daemon.port.
 */
export function locateKey(text: string, path: (string | number)[]): { line: number; column: number } | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const pos = position(doc, lines, path);
  return pos && { line: pos.line, column: pos.col };
}

/** Top-level keys of the config file, as the schema (schema.ts configSchema) names them in its messages. */
const TOP_LEVEL_KEYS = 'daemon, connections, secrets, faults';
/** What a config key looks like: the only top-level text an error about a file may quote. */
const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * Whether a document is not even shaped like a config file (a mapping of key names) and why, without quoting it:
 * `load --config /etc/shadow` must not echo a line of that file back. Errors about config-shaped files keep
 * quoting the offending value, which is what makes them useful. An empty file is config-shaped (all defaults).
 */
function notConfigShaped(doc: Document, lines: LineCounter) {
  const c = doc.contents;
  if (c === null || (isScalar(c) && c.value === null)) return undefined;
  const at = (node: unknown) => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    const pos = range ? lines.linePos(range[0]) : undefined;
    return { line: pos?.line, column: pos?.col };
  };
  const expected = `the config file as a mapping with keys ${TOP_LEVEL_KEYS}`;
  if (isMap(c)) {
    const odd = c.items.find((p) => !(isScalar(p.key) && typeof p.key.value === 'string' && KEY_NAME.test(p.key.value)));
    if (!odd) return undefined;
    return { expected, got: 'a mapping whose keys are not config key names', detail: 'file contents not shown', ...at(odd.key) };
  }
  const got = isSeq(c) ? 'a list' : isScalar(c) ? 'text' : 'a YAML node';
  return { expected, got, detail: 'file contents not shown', ...at(c) };
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
