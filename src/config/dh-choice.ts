// The DH choice of a one-off CHILD_SA rekey (`ikelab rekey --child NAME --dh none|GROUP`): `none` (no KE, ESP
// proposals without a DH transform, i.e. no PFS) or one group by its strongSwan keyword (modp2048, ecp256) or its
// IANA number (14, 19). Only groups ikelab can compute are accepted.
import { dhSupported } from '../crypto/dh.js';
import { DhGroup, TransformType } from '../wire/constants.js';
import { canonicalKeywords, lookupKeyword } from './proposal-keywords.js';

/** What --dh accepts, for usage errors. */
export function dhChoiceForms(): string {
  const names = canonicalKeywords(TransformType.DH)
    .filter(({ keyword }) => keyword.id !== DhGroup.NONE && dhSupported(keyword.id))
    .map(({ word, keyword }) => `${word} (${keyword.id})`);
  return `none, or a DH group by name or number: ${names.join(', ')}`;
}

/** The DH group for a --dh value: 0 for `none`; undefined if the value is not one ikelab accepts. */
export function parseDhChoice(text: string): number | undefined {
  const word = text.trim().toLowerCase();
  if (word === 'none' || word === 'modpnone') return DhGroup.NONE;
  if (/^\d+$/.test(word)) {
    const id = Number(word);
    return id !== DhGroup.NONE && dhSupported(id) ? id : undefined;
  }
  const kw = lookupKeyword(word);
  return kw?.type === TransformType.DH && kw.id !== DhGroup.NONE && dhSupported(kw.id) ? kw.id : undefined;
}
