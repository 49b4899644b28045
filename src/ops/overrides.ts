// Per-initiation overrides (`ikelab initiate ... --psk --proposals --esp-proposals --local-ts --remote-ts`): one
// command reproduces a wrong PSK, a proposal or traffic selector mismatch, without editing and reloading the config.
// They are parsed with the config's own parsers (same syntax, same "can this engine run it" check) and applied by
// deriving a ConnectionConfig / ChildConfig for the one IKE_SA or CHILD_SA being created: the loaded config is
// never changed, so the next plain `initiate` uses the configured values again. What is derived stays with the SA
// it was made for: its rekeys (IKE_SA and CHILD_SA) keep the overridden proposals. A re-initiation the daemon
// starts itself (dpd_action/close_action restart) uses the loaded config.
import { ValueError } from '../config/errors.js';
import { runnableProposals, type IpsecBackend } from '../config/proposal-support.js';
import { parseProposals, type ProposalProtocol } from '../config/proposals.js';
import { parseTs, type TsConfig } from '../config/ts.js';
import type { ChildConfig, ConnectionConfig } from '../config/types.js';
import { parseSecret } from '../config/values.js';
import type { Proposal } from '../wire/types.js';
import { OpError } from './context.js';

/** The overrides as the CLI and the control verb carry them: the user's text (lists comma-separated). */
export interface InitiateOverrideText {
  psk?: string;
  proposals?: string;
  espProposals?: string;
  localTs?: string;
  remoteTs?: string;
}

/** The same, parsed. An absent field means: as configured. */
export interface InitiateOverrides {
  /** Used for this IKE_SA's AUTH (ours and the check of the peer's) instead of the secrets lookup. */
  psk?: Buffer;
  proposals?: { texts: string[]; proposals: Proposal[] };
  espProposals?: { texts: string[]; proposals: Proposal[] };
  localTs?: TsConfig[];
  remoteTs?: TsConfig[];
}

/** The CLI flag of each override: error messages and logs name what the user typed. */
export const OVERRIDE_FLAGS: Record<keyof InitiateOverrideText, string> = {
  psk: '--psk',
  proposals: '--proposals',
  espProposals: '--esp-proposals',
  localTs: '--local-ts',
  remoteTs: '--remote-ts',
};

const items = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function invalid(key: keyof InitiateOverrideText, why: string): never {
  throw new OpError(`invalid ${OVERRIDE_FLAGS[key]}: ${why}`);
}

function proposalsOf(key: 'proposals' | 'espProposals', text: string, protocol: ProposalProtocol, backend?: IpsecBackend) {
  const texts = items(text);
  if (!texts.length) invalid(key, `expected a comma-separated list of ${protocol.toUpperCase()} proposals, got nothing`);
  try {
    if (!backend) return { texts, proposals: parseProposals(texts, protocol) };
    return runnableProposals({ texts, proposals: [], listed: true }, protocol, backend, (_path, info) =>
      invalid(key, `expected ${info.expected}, got ${info.got}${info.detail ? ` (${info.detail})` : ''}`),
    );
  } catch (e) {
    if (e instanceof ValueError) invalid(key, e.message);
    throw e;
  }
}

function tsOf(key: 'localTs' | 'remoteTs', text: string): TsConfig[] {
  const list = items(text);
  if (!list.length) invalid(key, 'expected a comma-separated list of traffic selectors, got nothing');
  try {
    return list.map(parseTs);
  } catch (e) {
    if (e instanceof ValueError) invalid(key, e.message);
    throw e;
  }
}

/**
 * Parse what was given; a bad value is an OpError naming its flag. `backend`: the engine the proposals must run on
 * (the daemon knows it); without it only the syntax is checked (the CLI, before asking the daemon).
 */
export function parseOverrides(t: InitiateOverrideText, backend?: IpsecBackend): InitiateOverrides {
  const o: InitiateOverrides = {};
  if (t.psk !== undefined) {
    try {
      o.psk = parseSecret(t.psk);
    } catch (e) {
      if (e instanceof ValueError) invalid('psk', e.message);
      throw e;
    }
  }
  if (t.proposals !== undefined) o.proposals = proposalsOf('proposals', t.proposals, 'ike', backend);
  if (t.espProposals !== undefined) o.espProposals = proposalsOf('espProposals', t.espProposals, 'esp', backend);
  if (t.localTs !== undefined) o.localTs = tsOf('localTs', t.localTs);
  if (t.remoteTs !== undefined) o.remoteTs = tsOf('remoteTs', t.remoteTs);
  return o;
}

/** Overrides that only a new IKE_SA can take (its IKE_SA_INIT and AUTH). */
export const hasIkeOverrides = (o: InitiateOverrides): boolean => o.psk !== undefined || o.proposals !== undefined;
/** Overrides of the CHILD_SA being created. */
export const hasChildOverrides = (o: InitiateOverrides): boolean =>
  o.espProposals !== undefined || o.localTs !== undefined || o.remoteTs !== undefined;
export const hasOverrides = (o: InitiateOverrides | undefined): o is InitiateOverrides =>
  o !== undefined && (hasIkeOverrides(o) || hasChildOverrides(o));

/** A copy of the child config with the child-level overrides in (the original is the loaded config's: untouched). */
export function overrideChild(cfg: ChildConfig, o: InitiateOverrides): ChildConfig {
  if (!hasChildOverrides(o)) return cfg;
  return {
    ...cfg,
    ...(o.espProposals && { espProposals: o.espProposals.proposals, espProposalTexts: o.espProposals.texts }),
    ...(o.localTs && { localTs: o.localTs }),
    ...(o.remoteTs && { remoteTs: o.remoteTs }),
  };
}

/**
 * The connection as this one IKE_SA sees it: IKE proposals overridden, and the child it brings up (`child`) with
 * the child-level overrides; its other children stay as configured (a CHILD_SA the peer starts is not ours to
 * override).
 */
export function overrideConnection(conn: ConnectionConfig, child: string | undefined, o: InitiateOverrides): ConnectionConfig {
  return {
    ...conn,
    ...(o.proposals && { proposals: o.proposals.proposals, proposalTexts: o.proposals.texts }),
    children: conn.children.map((c) => (c.name === child ? overrideChild(c, o) : c)),
  };
}

/** For the log: which overrides apply, never the PSK itself. */
export function describeOverrides(o: InitiateOverrides): string {
  const parts: string[] = [];
  if (o.psk) parts.push('psk (given on the command line)');
  if (o.proposals) parts.push(`proposals ${o.proposals.texts.join(',')}`);
  if (o.espProposals) parts.push(`esp_proposals ${o.espProposals.texts.join(',')}`);
  if (o.localTs) parts.push(`local_ts ${o.localTs.map((t) => t.text).join(',')}`);
  if (o.remoteTs) parts.push(`remote_ts ${o.remoteTs.map((t) => t.text).join(',')}`);
  return parts.join(', ');
}
