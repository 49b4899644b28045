// "Never negotiate what cannot run": which transforms of a parsed proposal ikelab can actually run, and the
// proposals a connection really uses once that is applied. The sets are not listed here; they come from the code
// that runs the transforms:
//   - IKE proposals: ikelab's own crypto (src/crypto/supported.ts: the encr/integ/prf/dh tables), always.
//   - ESP proposals, ENCR/INTEG/ESN, by daemon.ipsec_backend:
//       userspace (the default): the userspace ESP engine (src/ipsec/esp-transform.ts espTransformSupported);
//       xfrm: what src/ipsec/xfrm.ts can name for the kernel (xfrmTransformSupported; adds AES-XCBC integrity);
//       none: nothing is installed, but ikelab still derives the CHILD_SA KEYMAT, which needs the key sizes of
//             src/crypto (encr.ts / integ.ts). "Anything parseable" would still let AES-CTR be negotiated and then
//             fail at keying, so none accepts what ikelab's crypto can size: the IKE cipher and integrity tables.
//   - ESP DH groups (PFS) are computed by ikelab's IKE side: src/crypto dh.ts for every backend; KE NONE is fine.
// Written proposals with anything else are refused at load; the keyword `default` (and the implicit defaults) is
// strongSwan's list filtered down to what runs, since strongSwan's default is "what its plugins provide".
// Proposal selection (src/ike/proposal-select.ts) applies the same predicates again to what a peer offers.

import { ikeTransformSupported, supportsDhGroup, supportsIkeEncr, supportsIkeInteg } from '../crypto/supported.js';
import { espTransformSupported } from '../ipsec/esp-transform.js';
import { xfrmTransformSupported } from '../ipsec/xfrm.js';
import { DhGroup, Esn, ProtocolId, TransformType as T } from '../wire/constants.js';
import type { Proposal, Transform } from '../wire/types.js';
import { canonicalKeywords, lookupKeyword, transformName } from './proposal-keywords.js';
import { defaultProposals, implicitEspProposals, isAead, parseProposals, type ProposalProtocol } from './proposals.js';
import type { IssueInfo } from './schema-helpers.js';
import type { DaemonConfig } from './types.js';

export type IpsecBackend = DaemonConfig['ipsecBackend'];

export interface TransformSupport {
  /** Who runs the transforms, for messages: `the userspace ESP engine`. */
  engine: string;
  supports(t: Transform): boolean;
}

const IKE_SUPPORT: TransformSupport = { engine: "ikelab's IKE crypto", supports: ikeTransformSupported };

const ESP_ENGINES: Record<IpsecBackend, TransformSupport> = {
  userspace: { engine: 'the userspace ESP engine', supports: espTransformSupported },
  xfrm: { engine: 'the xfrm backend', supports: xfrmTransformSupported },
  none: {
    engine: "ikelab's CHILD_SA keying with ipsec_backend none",
    supports: (t) =>
      t.type === T.ENCR
        ? supportsIkeEncr(t.id, t.keyLength)
        : t.type === T.INTEG
          ? supportsIkeInteg(t.id)
          : t.type === T.ESN && (t.id === Esn.NO_EXT_SEQ || t.id === Esn.EXT_SEQ),
  },
};

/** The transforms ikelab can run for a protocol; ESP depends on the backend (userspace unless told). */
export function transformSupport(protocol: ProposalProtocol, backend: IpsecBackend = 'userspace'): TransformSupport {
  if (protocol === 'ike') return IKE_SUPPORT;
  const engine = ESP_ENGINES[backend];
  return {
    engine: engine.engine,
    supports: (t) => (t.type === T.DH ? t.id === DhGroup.NONE || supportsDhGroup(t.id) : engine.supports(t)),
  };
}

/** transformSupport for a proposal's protocol number; AH (and anything else) runs nothing. */
export function transformSupportFor(protocolId: number, backend?: IpsecBackend): TransformSupport | undefined {
  if (protocolId === ProtocolId.IKE) return transformSupport('ike');
  if (protocolId === ProtocolId.ESP) return transformSupport('esp', backend);
  return undefined;
}

/**
 * Whether a proposal whose transforms are all supported also has a shape that runs: an encryption algorithm,
 * integrity with classic (non-AEAD) ciphers and none with AEAD ones (keys.ts splitSizes, RFC 5282 section 8),
 * and for IKE a PRF and a DH group. Each transform type offers alternatives, so every one must fit.
 */
export function runnableShape(p: Proposal): boolean {
  const of = (type: number) => p.transforms.filter((t) => t.type === type && !(t.type === T.INTEG && t.id === 0));
  const encr = of(T.ENCR);
  if (!encr.length) return false;
  const aead = encr.filter((t) => isAead(t.id)).length;
  if (aead && aead !== encr.length) return false;
  if (aead ? of(T.INTEG).length > 0 : of(T.INTEG).length === 0) return false;
  if (p.protocol === ProtocolId.IKE && (!of(T.PRF).length || !of(T.DH).some((t) => t.id !== DhGroup.NONE))) return false;
  return true;
}

/** The keyword a transform is written as: the user's word when it names it, else the canonical one. */
function wordFor(t: Transform, text?: string): string {
  const same = (kw: { type: number; id: number; keyLength: number }) =>
    kw.type === t.type && kw.id === t.id && kw.keyLength === (t.keyLength ?? 0);
  const written = text
    ?.split('-')
    .map((w) => w.trim())
    .find((w) => {
      const kw = lookupKeyword(w);
      return kw !== undefined && same(kw);
    });
  return written ?? canonicalKeywords(t.type).find((c) => same(c.keyword))?.word ?? transformName(t.type, t.id, t.keyLength);
}

const TYPE_WORDS: Record<number, string> = {
  [T.ENCR]: 'encryption',
  [T.INTEG]: 'integrity',
  [T.PRF]: 'PRF',
  [T.DH]: 'DH group',
  [T.ESN]: 'ESN',
};

/** `supported encryption: aes128, ...`: the keywords of this type that pass the predicate. */
export function supportedKeywords(type: number, support: TransformSupport): string[] {
  return canonicalKeywords(type)
    .filter((c) =>
      support.supports(
        c.keyword.keyLength
          ? { type: c.keyword.type, id: c.keyword.id, keyLength: c.keyword.keyLength }
          : { type: c.keyword.type, id: c.keyword.id },
      ),
    )
    .map((c) => c.word);
}

/**
 * Why a parsed proposal cannot run, or undefined when it can: `aes128ctr is not supported by the userspace ESP
 * engine; supported encryption: ...`. `text` is the proposal as written, to name the user's own keyword.
 */
export function unsupportedReason(p: Proposal, protocol: ProposalProtocol, backend?: IpsecBackend, text?: string): string | undefined {
  const support = transformSupport(protocol, backend);
  const bad = p.transforms.find((t) => !support.supports(t));
  if (bad) {
    return (
      `${wordFor(bad, text)} is not supported by ${support.engine}; supported ${TYPE_WORDS[bad.type] ?? 'algorithms'}: ` +
      supportedKeywords(bad.type, support).join(', ')
    );
  }
  if (!runnableShape(p)) {
    return protocol === 'esp'
      ? 'classic (non-AEAD) encryption without an integrity algorithm cannot run, add one such as sha256'
      : 'the proposal lacks a transform an IKE SA needs';
  }
  return undefined;
}

/** Only the transforms that run; proposals that lose a needed transform type go away. Renumbered 1.. */
export function filterRunnable(list: Proposal[], protocol: ProposalProtocol, backend?: IpsecBackend): Proposal[] {
  const support = transformSupport(protocol, backend);
  return list
    .map((p) => ({ ...p, transforms: p.transforms.filter((t) => support.supports(t)) }))
    .filter(runnableShape)
    .map((p, i) => ({ ...p, num: i + 1 }));
}

/** What the schema makes of `proposals` / `esp_proposals`. */
export interface ParsedProposals {
  texts: string[];
  proposals: Proposal[];
  /** The YAML value was a list (errors name the item `[i]`), not a comma-separated string. */
  listed?: boolean;
}

/**
 * The proposals a connection (`ike`) or child (`esp`) uses: written proposals must run entirely (else `fail`
 * with the item's index when the YAML had a list), `default` and the implicit defaults (`given` undefined) are
 * filtered to what runs. Proposal numbers are the 1-based positions of the result.
 */
export function runnableProposals(
  given: ParsedProposals | undefined,
  protocol: ProposalProtocol,
  backend: IpsecBackend,
  fail: (path: number[], info: IssueInfo) => never,
): { texts: string[]; proposals: Proposal[] } {
  if (!given) {
    const defaults = protocol === 'ike' ? defaultProposals('ike') : implicitEspProposals();
    return { texts: [], proposals: filterRunnable(defaults, protocol, backend) };
  }
  const out: Proposal[] = [];
  given.texts.forEach((text, i) => {
    if (text.trim().toLowerCase() === 'default') {
      out.push(...filterRunnable(defaultProposals(protocol), protocol, backend));
      return;
    }
    for (const p of parseProposals([text], protocol)) {
      const why = unsupportedReason(p, protocol, backend, text);
      if (why) {
        const engine = transformSupport(protocol, backend).engine;
        fail(given.listed ? [i] : [], {
          expected:
            protocol === 'ike'
              ? `an IKE proposal ${engine} can run, such as aes256-sha256-modp2048 or aes256gcm16-prfsha256-ecp256`
              : `an ESP proposal ${engine} can run, such as aes256-sha256 or aes256gcm16`,
          got: JSON.stringify(text),
          detail: why,
        });
      }
      out.push(p);
    }
  });
  return { texts: given.texts, proposals: out.map((p, i) => ({ ...p, num: i + 1 })) };
}
