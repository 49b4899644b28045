// `load`: replace the configuration, and say what that changes for what is up. New SAs use the new config; live
// SAs keep the config they were made with (an IKE_SA and its CHILD_SAs hold their own ConnectionConfig /
// ChildConfig, rekeys included) until they are re-established. `--apply-to-rekey` is the one exception offered:
// live CHILD_SAs of a changed child take the new child config at their next rekey (ChildSa.rekeyConfig) -- what
// a rekey negotiates or schedules anew (esp_proposals with their DH groups, rekey/life/rand times, and what the new
// CHILD_SA reads from its config later); traffic selectors and mode are not renegotiated by a rekey.
import type { ChildConfig, ConnectionConfig, IkelabConfig } from '../config/types.js';
import type { OpsContext } from './context.js';

export interface LoadChange {
  /** swanctl path of what changed: `connections.net`, `connections.net.children.net`, `secrets`, `daemon`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** The keys that differ, as full swanctl paths (`connections.net.children.net.esp_proposals`); changed only. */
  keys?: string[];
  /** What happens to the live SAs (or why nothing starts), one sentence each. */
  live: string[];
}

export interface LoadReport {
  changes: LoadChange[];
  /** load --apply-to-rekey was given. */
  applyToRekey: boolean;
}

/** Child keys a rekey does not renegotiate: with --apply-to-rekey they still stay as negotiated. */
const KEPT_AT_REKEY = new Set(['local_ts', 'remote_ts', 'mode', 'ipcomp']);
/** Daemon keys read once at start (sockets, engine): a running daemon keeps the old value. */
const AT_START = new Set(['listen', 'port', 'natt_port', 'control_socket', 'ipsec_backend']);

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** Buffers (selector addresses, SPIs of proposals, secrets) compare by content. */
const stable = (v: unknown): string =>
  JSON.stringify(v, function (this: unknown, key: string, value: unknown) {
    const raw = (this as Record<string, unknown>)[key];
    return Buffer.isBuffer(raw) ? raw.toString('hex') : value;
  });

/**
 * The keys of `a` and `b` (config objects) whose values differ, as swanctl paths under `prefix`; nested objects
 * (local, remote, retransmit) are walked. `skip`: fields compared elsewhere or not configuration (name, children,
 * the proposal texts next to the parsed proposals).
 */
function differing(a: object, b: object, prefix: string, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (skip.has(k)) continue;
    const [x, y] = [ra[k], rb[k]];
    const nested = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
    if (nested(x) && nested(y)) out.push(...differing(x as object, y as object, `${prefix}.${snake(k)}`, skip));
    else if (stable(x) !== stable(y)) out.push(`${prefix}.${snake(k)}`);
  }
  return out;
}

const CONN_SKIP = new Set(['name', 'children', 'proposalTexts']);
const CHILD_SKIP = new Set(['name', 'espProposalTexts']);

function liveIkeSas(ctx: OpsContext, conn: string) {
  return ctx.table.byName(conn).filter((s) => s.state !== 'DESTROYING');
}

function liveChildren(ctx: OpsContext, conn: string, child: string) {
  return liveIkeSas(ctx, conn).flatMap((sa) =>
    sa.children.filter((c) => c.name === child && !c.successor && c.state !== 'DESTROYING' && c.state !== 'DELETED'),
  );
}

function notStarted(c: ChildConfig): string[] {
  return c.startAction === 'none' ? [] : [`start_action ${c.startAction} is not acted on by load: ikelab initiate --child ${c.name}`];
}

/** Compare `old` and `cfg` per connection and child, and (applyToRekey) hand the changed child configs to live CHILD_SAs. */
export function diffConfig(ctx: OpsContext, old: IkelabConfig, cfg: IkelabConfig, applyToRekey: boolean): LoadChange[] {
  const changes: LoadChange[] = [];
  const byName = (list: ConnectionConfig[]) => new Map(list.map((c) => [c.name, c]));
  const before = byName(old.connections);
  const after = byName(cfg.connections);
  for (const name of before.keys()) {
    if (after.has(name)) continue;
    const live = liveIkeSas(ctx, name).map(
      (sa) => `IKE_SA ${sa.label} stays up with the removed settings until it ends; it is not re-established`,
    );
    changes.push({ path: `connections.${name}`, kind: 'removed', live });
  }
  for (const [name, now] of after) {
    const path = `connections.${name}`;
    const was = before.get(name);
    if (!was) {
      changes.push({ path, kind: 'added', live: now.children.flatMap(notStarted) });
      continue;
    }
    const keys = differing(was, now, path, CONN_SKIP);
    if (keys.length) {
      const live = liveIkeSas(ctx, name).map((sa) => `IKE_SA ${sa.label} keeps its settings, rekeys included, until re-established`);
      changes.push({ path, kind: 'changed', keys, live });
    }
    changes.push(...diffChildren(ctx, was, now, applyToRekey));
  }
  const secretKeys = differingSecrets(old, cfg);
  if (secretKeys.length) {
    changes.push({
      path: 'secrets',
      kind: 'changed',
      keys: secretKeys,
      live: ['used by the next authentication; established IKE_SAs are not re-authenticated'],
    });
  }
  const daemonKeys = differing(old.daemon, cfg.daemon, 'daemon', new Set());
  if (daemonKeys.length) {
    const atStart = daemonKeys.filter((k) => AT_START.has(k.split('.')[1]!));
    changes.push({
      path: 'daemon',
      kind: 'changed',
      keys: daemonKeys,
      live: atStart.length ? [`${atStart.join(', ')}: the running daemon keeps the old value until restarted`] : [],
    });
  }
  return changes;
}

function diffChildren(ctx: OpsContext, was: ConnectionConfig, now: ConnectionConfig, applyToRekey: boolean): LoadChange[] {
  const out: LoadChange[] = [];
  const base = `connections.${now.name}.children`;
  for (const c of was.children) {
    if (now.children.some((x) => x.name === c.name)) continue;
    const live = liveChildren(ctx, now.name, c.name).map(
      (k) => `CHILD_SA ${k.label} stays up with the removed settings, rekeys included, until it ends`,
    );
    out.push({ path: `${base}.${c.name}`, kind: 'removed', live });
  }
  for (const c of now.children) {
    const path = `${base}.${c.name}`;
    const prev = was.children.find((x) => x.name === c.name);
    if (!prev) {
      out.push({ path, kind: 'added', live: notStarted(c) });
      continue;
    }
    const keys = differing(prev, c, path, CHILD_SKIP);
    if (!keys.length) continue;
    const leaf = (k: string) => k.slice(path.length + 1);
    const kept = keys.map(leaf).filter((k) => KEPT_AT_REKEY.has(k));
    const taken = keys.map(leaf).filter((k) => !KEPT_AT_REKEY.has(k));
    const live = liveChildren(ctx, now.name, c.name).map((k) => {
      if (!applyToRekey)
        return `CHILD_SA ${k.label} rekeys with its old settings until re-established (load --apply-to-rekey changes that)`;
      if (taken.length) k.rekeyConfig = c;
      const parts: string[] = [];
      if (taken.length) parts.push(`takes the new ${taken.join(', ')} at its next rekey`);
      if (kept.length) parts.push(`keeps ${kept.join(', ')} as negotiated until re-established`);
      return `CHILD_SA ${k.label} ${parts.join('; ')}`;
    });
    out.push({ path, kind: 'changed', keys, live });
  }
  return out;
}

/** Names of the secret sections added, removed or changed (never their values). */
function differingSecrets(old: IkelabConfig, cfg: IkelabConfig): string[] {
  const names = new Set([...old.secrets.map((s) => s.name), ...cfg.secrets.map((s) => s.name)]);
  return [...names]
    .filter((n) => stable(old.secrets.find((s) => s.name === n)) !== stable(cfg.secrets.find((s) => s.name === n)))
    .map((n) => `secrets.${n}`);
}

/** Replace the configuration: new SAs use it; live ones as diffConfig says. */
export function reload(ctx: OpsContext, cfg: IkelabConfig, opts: { applyToRekey?: boolean } = {}): LoadReport {
  const applyToRekey = opts.applyToRekey ?? false;
  const changes = diffConfig(ctx, ctx.config(), cfg, applyToRekey);
  ctx.setConfig(cfg);
  ctx.log.setLevels(cfg.daemon.log.levels);
  ctx.faults.setConfigRules(cfg.faults);
  return { changes, applyToRekey };
}

/** The report as `ikelab load` prints it: one line per change, the live SAs indented below. */
export function formatLoadReport(r: LoadReport): string {
  if (!r.changes.length) return 'no changes to connections, children, secrets or daemon settings';
  const lines: string[] = [];
  for (const c of r.changes) {
    lines.push(c.kind === 'changed' ? `${c.path}: changed ${c.keys!.join(', ')}` : `${c.path}: ${c.kind}`);
    for (const l of c.live) lines.push(`  ${l}`);
  }
  return lines.join('\n');
}
