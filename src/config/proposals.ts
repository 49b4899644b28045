// strongSwan proposal strings -> Proposal (proposal_create_from_string + check_proposal in strongSwan 5.9's
// libstrongswan/crypto/proposal/proposal.c, re-expressed): keywords joined by '-', several algorithms of one type
// allowed, plus the implicit rules charon applies to what was written.

import { Encr, Esn, Integ, Prf, ProtocolId, TransformType as T } from '../wire/constants.js';
import type { Proposal, Transform } from '../wire/types.js';
import { ValueError } from './errors.js';
import { DEFAULT_ESP, DEFAULT_ESP_AEAD, DEFAULT_IKE, DEFAULT_IKE_AEAD } from './proposal-defaults.js';
import { isStrongSwanOnlyKeyword, lookupKeyword, transformName } from './proposal-keywords.js';

export type ProposalProtocol = 'ike' | 'esp';

export const EXPECTED_PROPOSAL: Record<ProposalProtocol, string> = {
  ike: 'a strongSwan IKE proposal such as aes256-sha256-modp2048 or aes256gcm16-prfsha256-ecp256',
  esp: 'a strongSwan ESP proposal such as aes256-sha256 or aes256gcm16-modp2048',
};

/** Transform types in the order charon sends (proposal_substructure.c) and prints them. */
const TYPE_ORDER = [T.ENCR, T.INTEG, T.PRF, T.DH, T.ESN];

const AEAD = new Set<number>([
  Encr.AES_GCM_8,
  Encr.AES_GCM_12,
  Encr.AES_GCM_16,
  Encr.AES_CCM_8,
  Encr.AES_CCM_12,
  Encr.AES_CCM_16,
  Encr.CHACHA20_POLY1305,
]);

/** Integrity algorithm -> the PRF charon assumes when an IKE proposal names none (integ_prf_map). */
const PRF_FOR_INTEG: Record<number, number> = {
  [Integ.HMAC_SHA1_96]: Prf.HMAC_SHA1,
  [Integ.HMAC_SHA2_256_128]: Prf.HMAC_SHA2_256,
  [Integ.HMAC_SHA2_384_192]: Prf.HMAC_SHA2_384,
  [Integ.HMAC_SHA2_512_256]: Prf.HMAC_SHA2_512,
  [Integ.HMAC_MD5_96]: Prf.HMAC_MD5,
  [Integ.AES_XCBC_96]: Prf.AES128_XCBC,
};

export function isAead(encrId: number): boolean {
  return AEAD.has(encrId);
}

/**
 * One proposal string, e.g. `aes256-sha256-modp3072-ecp384` (IKE) or `aes256gcm16-esn` (ESP). `num` is 1;
 * parseProposals numbers a list. `default` expands to two proposals: use parseProposals for it.
 */
export function parseProposal(text: string, protocol: ProposalProtocol): Proposal {
  const expected = EXPECTED_PROPOSAL[protocol];
  if (typeof text !== 'string') throw new ValueError(expected, text);
  const fail = (detail: string): never => {
    throw new ValueError(expected, text, detail);
  };
  if (text.trim().toLowerCase() === 'default') {
    fail('"default" expands to more than one proposal; pass it to parseProposals');
  }
  if (text.trim() === '') fail('empty proposal');

  let list: Transform[] = [];
  for (const raw of text.split('-')) {
    const word = raw.trim();
    const kw = lookupKeyword(word);
    if (!kw) {
      if (word === '') fail('empty algorithm keyword between "-"');
      fail(
        isStrongSwanOnlyKeyword(word)
          ? `algorithm keyword "${word}" is valid in strongSwan but not implemented by ikelab`
          : `unknown algorithm keyword "${word}"`,
      );
    }
    list.push(kw!.keyLength ? { type: kw!.type, id: kw!.id, keyLength: kw!.keyLength } : { type: kw!.type, id: kw!.id });
  }
  const of = (type: number): Transform[] => list.filter((t) => t.type === type);
  const drop = (type: number): void => {
    list = list.filter((t) => t.type !== type);
  };

  if (protocol === 'ike') {
    if (of(T.PRF).length === 0) {
      // no explicit PRF: charon assumes the one matching each integrity algorithm
      for (const integ of of(T.INTEG)) {
        const prf = PRF_FOR_INTEG[integ.id];
        if (prf !== undefined) list.push({ type: T.PRF, id: prf });
      }
    }
    if (of(T.PRF).length === 0) {
      fail(
        of(T.ENCR).some((t) => AEAD.has(t.id))
          ? 'an AEAD IKE proposal needs a PRF keyword such as prfsha256'
          : 'a PRF algorithm is mandatory in IKE proposals',
      );
    }
    list = list.filter((t) => !(t.type === T.DH && t.id === 0)); // "none" has no meaning for IKE
    if (of(T.DH).length === 0) fail('a DH group is mandatory in IKE proposals, e.g. modp2048 or ecp256');
  } else {
    drop(T.PRF); // charon silently removes PRFs from ESP proposals
  }

  const encr = of(T.ENCR);
  const aead = encr.filter((t) => AEAD.has(t.id));
  if (encr.length === 0) fail(`an encryption algorithm is mandatory in ${protocol.toUpperCase()} proposals`);
  if (aead.length && aead.length !== encr.length) {
    fail('classic and combined-mode (AEAD) encryption algorithms cannot be mixed in one proposal');
  }
  if (aead.length) {
    drop(T.INTEG); // AEAD proposals must not carry integrity algorithms
  } else if (protocol === 'ike' && of(T.INTEG).length === 0) {
    fail('an integrity algorithm is mandatory in IKE proposals with classic (non-AEAD) encryption');
  }
  if (protocol === 'esp' && of(T.ESN).length === 0) list.push({ type: T.ESN, id: Esn.NO_EXT_SEQ });

  return { num: 1, protocol: protocolId(protocol), spi: Buffer.alloc(0), transforms: sortTransforms(list) };
}

/**
 * A list of proposal strings as in `proposals` / `esp_proposals`; `default` (any case) expands in place to
 * strongSwan's default non-AEAD and AEAD proposals. Proposal numbers are the 1-based positions after expansion.
 */
export function parseProposals(list: string[], protocol: ProposalProtocol): Proposal[] {
  const out: Proposal[] = [];
  for (const text of list) {
    if (typeof text === 'string' && text.trim().toLowerCase() === 'default') {
      out.push(...defaultProposals(protocol));
    } else {
      out.push(parseProposal(text, protocol));
    }
  }
  return out.map((p, i) => ({ ...p, num: i + 1 }));
}

/** What the keyword `default` gives: [non-AEAD, AEAD] (vici_config.c parse_proposal). */
export function defaultProposals(protocol: ProposalProtocol): Proposal[] {
  const sets = protocol === 'ike' ? [DEFAULT_IKE, DEFAULT_IKE_AEAD] : [DEFAULT_ESP, DEFAULT_ESP_AEAD];
  return sets.map((transforms, i) => ({
    num: i + 1,
    protocol: protocolId(protocol),
    spi: Buffer.alloc(0),
    transforms: transforms.map((t) => ({ ...t })),
  }));
}

/**
 * What charon uses when esp_proposals is not given at all: the AEAD default first, then the classic one
 * (vici_config.c, end of parse_child) -- the reverse of the keyword `default`.
 */
export function implicitEspProposals(): Proposal[] {
  return defaultProposals('esp')
    .reverse()
    .map((p, i) => ({ ...p, num: i + 1 }));
}

function protocolId(protocol: ProposalProtocol): number {
  return protocol === 'ike' ? ProtocolId.IKE : ProtocolId.ESP;
}

/** Stable sort by transform type in charon's order; unknown types last. */
function sortTransforms(list: Transform[]): Transform[] {
  const rank = (t: Transform): number => {
    const i = TYPE_ORDER.indexOf(t.type as (typeof TYPE_ORDER)[number]);
    return i < 0 ? TYPE_ORDER.length + t.type : i;
  };
  return list
    .map((t, i) => ({ t, i }))
    .sort((a, b) => rank(a.t) - rank(b.t) || a.i - b.i)
    .map((x) => x.t);
}

const PROTOCOL_NAMES: Record<number, string> = { [ProtocolId.IKE]: 'IKE', [ProtocolId.AH]: 'AH', [ProtocolId.ESP]: 'ESP' };

/** A proposal as charon prints it (%P): `IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048`. */
export function formatProposal(p: Proposal): string {
  const names = sortTransforms(p.transforms).map((t) => transformName(t.type, t.id, t.keyLength));
  return `${PROTOCOL_NAMES[p.protocol] ?? `PROTO_${p.protocol}`}:${names.join('/')}`;
}

/** Several proposals as charon's %#P prints them: separated by ", ". */
export function formatProposals(list: Proposal[]): string {
  return list.map(formatProposal).join(', ');
}
