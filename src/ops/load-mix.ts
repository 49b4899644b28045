// Failure mixes of load runs (`initiate --count N --mix wrong-psk=5%,no-proposal=2%,silent-after-auth=1%`): a
// headend under test sees bad peers among good ones, as in the field, instead of one credential and one proposal
// per run (strongSwan's load-tester).
//
// The shares are exact, never random draws: round(N * share) SAs per class, so "5 % of 2,000" is 100 SAs on every
// run and a headend's counters can be checked against the plan. Which SA (index 1..N) gets which class is a
// Fisher-Yates shuffle from a seeded PRNG; the seed comes from the daemon's RandomSource unless given (--mix-seed),
// and the summary reports it, so a run is reproduced by passing it back.
//
// What each class does to its SA (everything through the per-initiation overrides of overrides.ts or the fault
// engine: the loaded config is never changed):
//   wrong-psk          a PSK the peer cannot have                     -> the peer's AUTHENTICATION_FAILED
//   no-proposal        IKE proposals with a DH group the connection's  -> NO_PROPOSAL_CHOSEN to IKE_SA_INIT
//                      proposals lack (a peer configured like us refuses them)
//   no-child-proposal  ESP proposals with an encryption algorithm the  -> IKE_SA up, CHILD_SA refused NO_PROPOSAL_CHOSEN
//                      child's ESP proposals lack
//   ts-mismatch        a remote_ts outside the child's (TEST-NET)       -> IKE_SA up, CHILD_SA refused TS_UNACCEPTABLE
//   silent-after-auth  the IKE_SA comes up, then a `dead` fault rule   -> the peer's DPD / retransmits give up
//                      for that one IKE_SA: nothing of it is answered
// The first three take an explicit value after the share when the default does not suit the headend:
// `no-proposal=2%:aes128-sha1-modp1024`, `no-child-proposal=1%:aes128-sha1`, `ts-mismatch=1%:192.0.2.0/24`.
import { compareIp } from '../config/ip.js';
import type { IpsecBackend } from '../config/proposal-support.js';
import type { TsConfig } from '../config/ts.js';
import type { ChildConfig, ConnectionConfig } from '../config/types.js';
import { SeededRandom } from '../faults/prng.js';
import { TransformType } from '../wire/constants.js';
import type { Proposal } from '../wire/types.js';
import { OpError } from './context.js';
import { type InitiateOverrides, parseOverrides } from './overrides.js';

export const MIX_CLASSES = ['wrong-psk', 'no-proposal', 'no-child-proposal', 'ts-mismatch', 'silent-after-auth'] as const;
export type MixClass = (typeof MIX_CLASSES)[number];
/** The SAs of no class: set up as configured. */
export const GOOD = 'good';

/** Classes whose SA brings its IKE_SA up and has its CHILD_SA refused: they need a child to override. */
const CHILD_CLASSES: readonly MixClass[] = ['no-child-proposal', 'ts-mismatch'];
/** Classes that take `:VALUE` after the share. */
const VALUE_CLASSES: readonly MixClass[] = ['no-proposal', 'no-child-proposal', 'ts-mismatch'];

export interface MixShare {
  cls: MixClass;
  /** Percent of the run, 0 < percent <= 100. */
  percent: number;
  /** The proposal / traffic selector given after the share (`:VALUE`), else the class's default. */
  value?: string;
}

/** The outcome each class is there to produce (the summary's "as planned"). */
export const EXPECTED_OUTCOME: Readonly<Record<MixClass | typeof GOOD, string>> = {
  'wrong-psk': 'failed AUTHENTICATION_FAILED',
  'no-proposal': 'failed NO_PROPOSAL_CHOSEN',
  'no-child-proposal': 'established, CHILD_SA refused NO_PROPOSAL_CHOSEN',
  'ts-mismatch': 'established, CHILD_SA refused TS_UNACCEPTABLE',
  'silent-after-auth': 'established, then silenced',
  good: 'established',
};

const isClass = (s: string): s is MixClass => (MIX_CLASSES as readonly string[]).includes(s);

/** `wrong-psk=5%,no-proposal=2%:aes128-sha1-modp1024`; every mistake is an OpError naming the item. */
export function parseMix(text: string): MixShare[] {
  const bad = (why: string): never => {
    throw new OpError(`invalid --mix '${text}': ${why}`);
  };
  const items = text.split(',').map((s) => s.trim());
  if (items.every((s) => s === '')) bad(`expected CLASS=PERCENT%[,...] with CLASS one of ${MIX_CLASSES.join(', ')}`);
  const out: MixShare[] = [];
  for (const item of items) {
    if (item === '') bad('an empty item (two commas, or one at an end)');
    const m = /^([a-z-]+)=(\d+(?:\.\d+)?|\.\d+)%(?::(.+))?$/.exec(item);
    if (!m) bad(`'${item}' is not CLASS=PERCENT% (e.g. wrong-psk=5%)`);
    const [, name, pct, value] = m!;
    if (!isClass(name!)) bad(`unknown class '${name}' (known: ${MIX_CLASSES.join(', ')})`);
    const cls = name as MixClass;
    const percent = Number(pct);
    if (!(percent > 0 && percent <= 100)) bad(`'${item}': the share must be > 0% and <= 100%`);
    if (out.some((s) => s.cls === cls)) bad(`'${cls}' is given twice`);
    if (value !== undefined && !VALUE_CLASSES.includes(cls)) bad(`'${item}': ${cls} takes no value (only ${VALUE_CLASSES.join(', ')} do)`);
    out.push({ cls, percent, ...(value !== undefined ? { value: value.trim() } : {}) });
  }
  const total = out.reduce((n, s) => n + s.percent, 0);
  // a tolerance for decimal shares such as 33.3%+66.7%, which are 100 % but not in binary floating point
  if (total > 100 + 1e-9) bad(`the shares add up to ${Math.round(total * 1000) / 1000}%, more than 100%`);
  return out;
}

/** The canonical text of a mix (for logs and the summary). */
export const formatMix = (shares: readonly MixShare[]): string =>
  shares.map((s) => `${s.cls}=${s.percent}%${s.value !== undefined ? `:${s.value}` : ''}`).join(',');

/**
 * SAs per class: round(count * share) each. Rounding up several classes may overshoot a run whose shares add up
 * to (nearly) 100 %: the classes rounded up the most give one back until the plan fits the run.
 */
export function planCounts(shares: readonly MixShare[], count: number): Map<MixClass, number> {
  const exact = shares.map((s) => (count * s.percent) / 100);
  const n = exact.map((x) => Math.round(x));
  let over = n.reduce((a, b) => a + b, 0) - count;
  while (over > 0) {
    let worst = -1;
    for (let i = 0; i < n.length; i++) if (n[i]! > 0 && (worst < 0 || n[i]! - exact[i]! > n[worst]! - exact[worst]!)) worst = i;
    n[worst]!--;
    over--;
  }
  return new Map(shares.map((s, i) => [s.cls, n[i]!]));
}

/** The class of each SA of the run (index 0 = SA #1), undefined for a good one: exact counts, seeded placement. */
export function placeMix(counts: ReadonlyMap<MixClass, number>, count: number, seed: number): (MixClass | undefined)[] {
  const slots: (MixClass | undefined)[] = new Array(count).fill(undefined);
  let i = 0;
  for (const [cls, n] of counts) for (let k = 0; k < n; k++) slots[i++] = cls;
  const rng = new SeededRandom(seed);
  for (let j = count - 1; j > 0; j--) {
    const k = Math.floor(rng.next() * (j + 1));
    [slots[j], slots[k]] = [slots[k], slots[j]];
  }
  return slots;
}

// ----------------------------------------------------------------------------------- what each class changes

/** DH groups strongSwan's default IKE proposal leaves out: a peer configured like us refuses them too. */
const NO_PROPOSAL_CANDIDATES = ['aes128-sha256-modp1024', 'aes128-sha256-modp1536', 'aes128-sha256-ecp521'];
const NO_CHILD_PROPOSAL_CANDIDATES = ['aes192-sha384', 'aes128-sha1', 'aes256-sha512'];
/** RFC 5737's documentation ranges: no headend protects them. */
const TS_MISMATCH_CANDIDATES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'];

const ids = (ps: readonly Proposal[], type: number): Set<string> =>
  new Set(ps.flatMap((p) => p.transforms.filter((t) => t.type === type).map((t) => `${t.id}/${t.keyLength ?? 0}`)));
const shares = (a: Set<string>, b: Set<string>): boolean => [...a].some((x) => b.has(x));

function overlaps(a: TsConfig, b: TsConfig): boolean {
  if (a.dynamic || b.dynamic || a.startAddr.length !== b.startAddr.length) return false;
  return compareIp(a.startAddr, b.endAddr) <= 0 && compareIp(b.startAddr, a.endAddr) <= 0;
}

/** The per-initiation overrides of each class (the PSK of wrong-psk is the tracker's: it is per run). */
export type ClassOverrides = Partial<Record<MixClass, InitiateOverrides>>;

/**
 * What each class of the mix overrides on `conn` (its child `child`, else the first), checked now: a class that
 * cannot apply (a child class without a child, no default that differs from the configuration, a value the
 * engine cannot run) refuses the run before anything starts.
 */
export function classOverrides(
  mix: readonly MixShare[],
  conn: ConnectionConfig,
  child: string | undefined,
  backend: IpsecBackend,
): ClassOverrides {
  const out: ClassOverrides = {};
  const cfgChild: ChildConfig | undefined = child ? conn.children.find((c) => c.name === child) : conn.children[0];
  for (const s of mix) {
    if (CHILD_CLASSES.includes(s.cls) && !cfgChild)
      throw new OpError(`--mix ${s.cls}: connection '${conn.name}' has no child whose CHILD_SA it could have refused`);
    const pick = (candidates: string[], differs: (o: InitiateOverrides) => boolean, what: string) => {
      for (const c of candidates) {
        const o = parsed(s.cls, c, backend);
        if (differs(o)) return o;
      }
      throw new OpError(
        `--mix ${s.cls}: none of ${candidates.join(', ')} differs from the ${what}; give one: ${s.cls}=${s.percent}%:VALUE`,
      );
    };
    switch (s.cls) {
      case 'no-proposal': {
        const mine = ids(conn.proposals, TransformType.DH);
        out[s.cls] = s.value
          ? parsed(s.cls, s.value, backend)
          : pick(
              NO_PROPOSAL_CANDIDATES,
              (o) => !shares(ids(o.proposals!.proposals, TransformType.DH), mine),
              'DH groups of the connection',
            );
        break;
      }
      case 'no-child-proposal': {
        const mine = ids(cfgChild!.espProposals, TransformType.ENCR);
        out[s.cls] = s.value
          ? parsed(s.cls, s.value, backend)
          : pick(
              NO_CHILD_PROPOSAL_CANDIDATES,
              (o) => !shares(ids(o.espProposals!.proposals, TransformType.ENCR), mine),
              `encryption algorithms of child '${cfgChild!.name}'`,
            );
        break;
      }
      case 'ts-mismatch':
        out[s.cls] = s.value
          ? parsed(s.cls, s.value, backend)
          : pick(
              TS_MISMATCH_CANDIDATES,
              (o) => !o.remoteTs!.some((t) => cfgChild!.remoteTs.some((c) => overlaps(t, c))),
              `remote_ts of child '${cfgChild!.name}'`,
            );
        break;
      default:
        break;
    }
  }
  return out;
}

/** A class's value through the override parsers (the engine check included); errors name the mix item. */
function parsed(cls: MixClass, value: string, backend: IpsecBackend): InitiateOverrides {
  const key = cls === 'no-proposal' ? 'proposals' : cls === 'no-child-proposal' ? 'espProposals' : 'remoteTs';
  try {
    return parseOverrides({ [key]: value }, backend);
  } catch (e) {
    if (e instanceof OpError) throw new OpError(`--mix ${cls}: ${e.message.replace(/^invalid --[a-z-]+: /, '')}`);
    throw e;
  }
}

// ----------------------------------------------------------------------------------------------- the summary

/** The mix's part of a load run's status (MixStatus in load-mix-tracker.ts), as the summary reads it. */
interface MixCounts {
  mix?: string;
  mixSeed?: number;
  mixPlanned?: Record<string, number>;
  mixAsPlanned?: Record<string, number>;
  mixOutcomes?: Record<string, number>;
}

/** Every class, good included, came to its planned outcome. */
export const mixOk = (s: MixCounts): boolean => Object.entries(s.mixPlanned ?? {}).every(([cls, n]) => (s.mixAsPlanned?.[cls] ?? 0) === n);

/** The summary's lines for the mix: per class planned, as planned, and what else came of it. */
export function formatMixSummary(s: MixCounts): string[] {
  if (!s.mixPlanned) return [];
  const lines = [`  failure mix ${s.mix} (seed ${s.mixSeed}: --mix-seed ${s.mixSeed} places it on the same SAs again):`];
  for (const [cls, planned] of Object.entries(s.mixPlanned)) {
    if (planned === 0 && cls !== GOOD) {
      lines.push(`    ${cls}: 0 planned (share too small for this count)`);
      continue;
    }
    const expected = EXPECTED_OUTCOME[cls as MixClass | typeof GOOD] ?? '?';
    const other = Object.entries(s.mixOutcomes ?? {})
      .filter(([k]) => k.startsWith(`${cls}: `) && k !== `${cls}: ${expected}`)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k.slice(cls.length + 2)} ${n}`);
    lines.push(
      `    ${cls}: ${planned} planned, ${s.mixAsPlanned?.[cls] ?? 0} ${expected}${other.length ? `; otherwise: ${other.join(', ')}` : ''}`,
    );
  }
  return lines;
}
