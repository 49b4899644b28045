// swanctl.conf (+ optionally strongswan.conf) -> ikelab YAML. ikelab's config uses swanctl's key names, so most of
// the work is choosing: a key ikelab has is copied (lists become YAML lists, numbers numbers), a key or value ikelab
// does not have is left out and reported with its swanctl path, line and why, so nobody believes a converted
// config does something it silently dropped. The result is run through ikelab's own loader before it is returned:
// what `convert` prints is a config `ikelab start` accepts.

import { Document, isSeq, visit } from 'yaml';
import { ConfigError } from '../errors.js';
import { parseConfig } from '../load.js';
import { LOG_GROUPS } from '../schema.js';
import type { IkelabConfig } from '../types.js';
import {
  AUTH_IGNORED,
  CHARON_IGNORED,
  CHARON_KEYS,
  CHILD_IGNORED,
  CHILD_KEYS,
  CONNECTION_IGNORED,
  CONNECTION_KEYS,
  type KeyRule,
} from './key-rules.js';
import { type SettingsEntry, type SettingsSection, type SettingsValue, type SourcePos, splitList } from './parse.js';
import { type Added, type Ignored, posText, reportHeader, sortInInputOrder } from './report.js';

export { type Added, formatAdded, formatIgnored, type Ignored, posText } from './report.js';

export interface ConvertInput {
  swanctl: SettingsSection;
  /** The swanctl.conf path as given, for line references of included files and messages. */
  swanctlFile: string;
  strongswan?: SettingsSection;
  strongswanFile?: string;
}

export interface ConvertResult {
  /** The YAML text, with the ignored/added report as comments at the top. */
  yaml: string;
  ignored: Ignored[];
  added: Added[];
  /** The output as ikelab's loader reads it. */
  config: IkelabConfig;
}

/** The converted config does not load; message names the swanctl key (and line) the loader's complaint is about. */
export class ConvertError extends Error {
  constructor(
    message: string,
    readonly configError: ConfigError,
  ) {
    super(message);
    this.name = 'ConvertError';
  }
}

type Yaml = { [k: string]: YamlValue };
type YamlValue = string | number | string[] | Yaml;

/** The mapping itself, without the loader check: for tests and for convertSwanctl. */
export function mapSwanctl(input: ConvertInput): { doc: Yaml; ignored: Ignored[]; added: Added[]; sources: Map<string, SourcePos> } {
  const ignored: Ignored[] = [];
  const added: Added[] = [];
  const sources = new Map<string, SourcePos>();
  const doc: Yaml = {};
  const ignore = (path: string, e: SourcePos, reason: string): void => {
    ignored.push({ path, pos: { file: e.file, line: e.line }, reason });
  };

  /** Copies a key by its rule into out, or reports it ignored when its value is not one ikelab takes. */
  const copy = (out: Yaml, outPath: string, inPath: string, key: string, v: SettingsValue, rule: KeyRule): void => {
    if (v.value === '') return ignore(inPath, v, 'empty value: the default applies');
    let value = v.value;
    if (rule.values) {
      const lower = value.toLowerCase();
      const mapped = rule.aliases?.[lower] ?? lower;
      if (!rule.values.includes(mapped)) {
        return ignore(inPath, v, `${rule.why ?? `ikelab's ${key} is one of ${rule.values.join(', ')}`}; "${value}" dropped`);
      }
      value = mapped;
    }
    out[key] = rule.shape === 'list' ? splitList(value) : rule.shape === 'number' ? numeric(value) : value;
    sources.set(outPath, v);
  };

  const connections: Yaml = {};
  const secrets: Yaml = {};
  for (const [name, e] of input.swanctl.entries) {
    if (name === 'connections' && e.kind === 'section') {
      for (const [conn, c] of e.entries) {
        const path = `connections.${conn}`;
        if (c.kind !== 'section') {
          ignore(path, c, 'a connection is a section');
          continue;
        }
        connections[conn] = connection(c, path);
      }
    } else if (name === 'secrets' && e.kind === 'section') {
      for (const [sname, s] of e.entries) secret(sname, s);
    } else if (name === 'authorities') ignore(name, e, 'ikelab has no certificate authorities (PSK only)');
    else if (name === 'pools') ignore(name, e, 'ikelab has no address pools');
    else ignore(name, e, 'not a swanctl.conf section (connections, secrets, authorities, pools)');
  }

  function connection(c: SettingsSection, path: string): Yaml {
    const out: Yaml = {};
    sources.set(path, c);
    let local: SettingsSection | undefined;
    let remote: SettingsSection | undefined;
    let children: SettingsSection | undefined;
    for (const [key, e] of c.entries) {
      const p = `${path}.${key}`;
      const rule = CONNECTION_KEYS[key];
      if (rule && e.kind === 'value') copy(out, p, p, key, e, rule);
      else if (/^(local|remote)/.test(key) && e.kind === 'section') {
        // swanctl's local<suffix>/remote<suffix> are authentication rounds; ikelab does one
        const isLocal = key.startsWith('local');
        if (isLocal ? local : remote)
          ignore(p, e, `ikelab authenticates in one round (it uses ${path}.${(isLocal ? local : remote)!.name})`);
        else if (isLocal) local = e;
        else remote = e;
      } else if (key === 'children' && e.kind === 'section') children = e;
      else if (CONNECTION_IGNORED[key]) ignore(p, e, CONNECTION_IGNORED[key]);
      else
        ignore(
          p,
          e,
          e.kind === 'section' ? 'not a section of a swanctl connection ikelab knows' : 'not a swanctl connection key ikelab knows',
        );
    }
    if (out.remote_addrs === undefined) {
      // optional in swanctl (%any), required by ikelab so that a config says whom it talks to
      out.remote_addrs = ['%any'];
      added.push({ path: `${path}.remote_addrs`, value: '%any', reason: "swanctl's default; ikelab wants it written" });
    }
    const ordered = orderKeys(out, Object.keys(CONNECTION_KEYS));
    for (const [side, sec] of [
      ['local', local],
      ['remote', remote],
    ] as const) {
      if (sec) ordered[side] = endpoint(sec, `${path}.${sec.name}`, `${path}.${side}`);
    }
    if (children) {
      const kids: Yaml = {};
      sources.set(`${path}.children`, children);
      for (const [name, k] of children.entries) {
        const p = `${path}.children.${name}`;
        if (k.kind !== 'section') ignore(p, k, 'a child is a section');
        else kids[name] = child(k, p);
      }
      ordered.children = kids;
    }
    return ordered;
  }

  function endpoint(sec: SettingsSection, inPath: string, outPath: string): Yaml {
    const out: Yaml = {};
    sources.set(outPath, sec);
    for (const [key, e] of sec.entries) {
      const p = `${inPath}.${key}`;
      if (key === 'id' && e.kind === 'value') copy(out, `${outPath}.id`, p, key, e, { shape: 'scalar' });
      else if (key === 'auth' && e.kind === 'value') {
        copy(out, `${outPath}.auth`, p, key, e, {
          shape: 'scalar',
          values: ['psk'],
          why: 'ikelab authenticates with pre-shared keys only',
        });
      } else ignore(p, e, AUTH_IGNORED);
    }
    return orderKeys(out, ['auth', 'id']);
  }

  function child(k: SettingsSection, path: string): Yaml {
    const out: Yaml = {};
    sources.set(path, k);
    for (const [key, e] of k.entries) {
      const p = `${path}.${key}`;
      const rule = CHILD_KEYS[key];
      if (rule && e.kind === 'value') copy(out, p, p, key, e, rule);
      else if (CHILD_IGNORED[key]) ignore(p, e, CHILD_IGNORED[key]);
      else ignore(p, e, 'not a swanctl child key ikelab knows');
    }
    return orderKeys(out, Object.keys(CHILD_KEYS));
  }

  function secret(name: string, s: SettingsEntry): void {
    const path = `secrets.${name}`;
    if (s.kind !== 'section') return ignore(path, s, 'a secret is a section');
    if (!name.startsWith('ike')) {
      const type = /^[a-z0-9]+/.exec(name)?.[0] ?? name;
      return ignore(path, s, `ikelab uses IKE pre-shared keys only, not ${type} secrets`);
    }
    const ids: string[] = [];
    let value: SettingsValue | undefined;
    for (const [key, e] of s.entries) {
      const p = `${path}.${key}`;
      if (e.kind === 'value' && key === 'secret') value = e;
      else if (e.kind === 'value' && key.startsWith('id')) {
        ids.push(...splitList(e.value));
        sources.set(`${path}.id`, e);
      } else ignore(p, e, 'not a key of an IKE secret (id<suffix>, secret)');
    }
    if (!value) return ignore(path, s, 'an IKE secret without a secret key');
    // swanctl's id-1, id-2, ... are one list of identities in ikelab (`id` or id<suffix> both load)
    const out: Yaml = {};
    if (ids.length) out.id = ids.length === 1 ? ids[0]! : ids;
    out.secret = value.value;
    sources.set(`${path}.secret`, value);
    secrets[name] = out;
  }

  const daemon = input.strongswan ? strongswanConf(input.strongswan) : undefined;

  function strongswanConf(root: SettingsSection): Yaml {
    let result: Yaml = {};
    for (const [name, e] of root.entries) {
      if (name !== 'charon' || e.kind !== 'section') {
        ignore(name, e, "ikelab reads only strongswan.conf's charon section");
        continue;
      }
      const out: Yaml = {};
      const retransmit: Yaml = {};
      let log: Yaml | undefined;
      for (const [key, v] of e.entries) {
        const p = `charon.${key}`;
        const target = CHARON_KEYS[key];
        if (target && v.kind === 'value') {
          const into = target.length === 2 ? retransmit : out;
          const outPath = `daemon.${target.join('.')}`;
          copy(into, outPath, p, target[target.length - 1]!, v, { shape: 'number' });
        } else if (key === 'filelog' && v.kind === 'section') log = filelog(v, p);
        else if (CHARON_IGNORED[key]) ignore(p, v, CHARON_IGNORED[key]);
        else ignore(p, v, 'not a charon setting ikelab has');
      }
      const order = Object.values(CHARON_KEYS)
        .filter((t) => t.length === 1)
        .map((t) => t[0]!);
      const ordered = orderKeys(out, order);
      if (Object.keys(retransmit).length) ordered.retransmit = orderKeys(retransmit, ['timeout', 'base', 'tries', 'jitter', 'limit']);
      if (log) ordered.log = log;
      result = ordered;
    }
    return result;
  }

  /** The first filelog's levels and time format become daemon.log: ikelab has one log, printed like charon's. */
  function filelog(sec: SettingsSection, path: string): Yaml | undefined {
    let log: Yaml | undefined;
    for (const [name, e] of sec.entries) {
      const p = `${path}.${name}`;
      if (e.kind !== 'section') {
        ignore(p, e, 'a filelog is a section');
        continue;
      }
      if (log) {
        ignore(p, e, `ikelab has one log; the levels of ${path}.${[...sec.entries.keys()][0]} were used`);
        continue;
      }
      log = {};
      const levels: Yaml = {};
      for (const [key, v] of e.entries) {
        const kp = `${p}.${key}`;
        if (v.kind === 'value' && (LOG_GROUPS as readonly string[]).includes(key)) {
          copy(levels, `daemon.log.levels.${key}`, kp, key, v, { shape: 'number' });
        } else if (v.kind === 'value' && key === 'time_format') {
          // %b %e %T is what ikelab's `charon` time format prints; other strftime formats it cannot follow
          if (v.value === '%b %e %T') {
            log.time_format = 'charon';
            sources.set('daemon.log.time_format', v);
          } else ignore(kp, v, "ikelab's time formats are charon (%b %e %T), iso and none");
        } else if (key === 'path') ignore(kp, v, "ikelab logs to stdout; set daemon.log.file to a path of ikelab's own");
        else ignore(kp, v, 'not a log option ikelab has');
      }
      if (Object.keys(levels).length) log.levels = levels;
    }
    return log && Object.keys(log).length ? log : undefined;
  }

  sortInInputOrder(ignored);

  if (daemon && Object.keys(daemon).length) doc.daemon = daemon;
  if (Object.keys(connections).length) doc.connections = connections;
  if (Object.keys(secrets).length) doc.secrets = secrets;
  return { doc, ignored, added, sources };
}

/** Converts and checks the result with ikelab's loader; throws ConvertError when it does not load. */
export function convertSwanctl(input: ConvertInput, outputName = 'converted.yaml'): ConvertResult {
  const { doc, ignored, added, sources } = mapSwanctl(input);
  const body = toYaml(doc);
  const yaml = reportHeader(input, ignored, added) + body;
  let config: IkelabConfig;
  try {
    config = parseConfig(yaml, outputName);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConvertError(explain(e, sources, input), e);
  }
  return { yaml, ignored, added, config };
}

/** `connections.bar.children.net.esp_proposals[0]` -> the source of the longest known prefix. */
function explain(e: ConfigError, sources: Map<string, SourcePos>, input: ConvertInput): string {
  const parts = e.keyPath.replace(/\[\d+\]/g, '').split('.');
  let where = '';
  for (let n = parts.length; n > 0; n--) {
    const pos = sources.get(parts.slice(0, n).join('.'));
    if (pos) {
      where = ` (${posText(pos, input)})`;
      break;
    }
  }
  const what = `expected ${e.expected}${e.got !== undefined ? `, got ${e.got}` : ''}${e.detail ? ` (${e.detail})` : ''}`;
  return `the converted config does not load: ${e.keyPath || 'the file'}${where}: ${what}`;
}

function toYaml(doc: Yaml): string {
  const d = new Document(doc);
  // short lists on one line, as ikelab's own examples write them
  visit(d, {
    Seq(_, node) {
      if (isSeq(node)) node.flow = true;
    },
  });
  return d.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** `30` -> 30 and `1.4` -> 1.4 (so YAML shows numbers); units (`3s`) and anything else stay text. */
function numeric(v: string): string | number {
  return /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

/** The keys of o in the order given, then the rest in their own order. */
function orderKeys(o: Yaml, order: string[]): Yaml {
  const out: Yaml = {};
  for (const k of order) if (k in o) out[k] = o[k]!;
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k]!;
  return out;
}
