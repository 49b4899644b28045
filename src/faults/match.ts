// Does a rule concern this message? Three questions, all pure: are we inside the rule's time window, does the
// message meet the criteria, and can the action act on it at all (a KE change needs a message with a KE, a
// no-retransmit needs a retransmit). nth and prob are the engine's business: they need per-rule state.

import { ExchangeType, PayloadType } from '../wire/constants.js';
import { ACTION_TRAITS } from './actions.js';
import type { Direction, EspPacketCtx, FaultAction, FaultMatch, HookPoint, IkeMessageCtx, SaRef } from './model.js';

/** One message or packet at one hook point. */
export type Subject =
  | { point: 'ike-send' | 'ike-receive'; dir: Direction; ike: SaRef; msg: IkeMessageCtx }
  | { point: 'esp-seal' | 'esp-open'; dir: Direction; ike: SaRef; esp: EspPacketCtx }
  | { point: 'keepalive'; dir: Direction; ike: SaRef };

export const pointLayer = (p: HookPoint): 'ike' | 'esp' | 'keepalive' => (p === 'keepalive' ? p : p.startsWith('ike') ? 'ike' : 'esp');

export type WindowState = 'waiting' | 'active' | 'expired';

/** after/for count from when the rule was added (rules can be added to a running daemon at any time). */
export function windowState(m: FaultMatch, addedAt: number, now: number): WindowState {
  const start = addedAt + (m.afterMs ?? 0);
  if (now < start) return 'waiting';
  if (m.forMs !== undefined && now >= start + m.forMs) return 'expired';
  return 'active';
}

const hasAll = (have: readonly number[] | undefined, want: readonly number[]): boolean =>
  have !== undefined && want.every((t) => have.includes(t));

/** The criteria of the match (not nth, prob or the window). */
export function criteriaMatch(m: FaultMatch, action: FaultAction, s: Subject): boolean {
  const layer = pointLayer(s.point);
  // dead covers every layer of its IKE_SA; keepalives concern no other action
  if (action.type !== 'dead' && layer !== m.layer) return false;
  if (m.ike !== undefined && s.ike.name !== m.ike) return false;
  if (m.ikeId !== undefined && s.ike.uniqueId !== m.ikeId) return false;
  if (m.dir !== undefined && s.dir !== m.dir) return false;
  if ('msg' in s) {
    const x = s.msg;
    if (m.exchange !== undefined && x.exchange !== m.exchange) return false;
    if (m.role !== undefined && x.isResponse !== (m.role === 'response')) return false;
    if (m.messageId !== undefined && x.messageId !== m.messageId) return false;
    if (m.payloads?.length && !hasAll(x.payloads, m.payloads)) return false;
    if (m.notifies?.length && !hasAll(x.notifies, m.notifies)) return false;
    // unknown payloads never count as empty, nor as non-empty
    if (m.empty !== undefined && (x.payloads === undefined || (x.payloads.length === 0) !== m.empty)) return false;
    if (m.retransmit !== undefined && (x.retransmit ?? false) !== m.retransmit) return false;
  }
  if ('esp' in s && m.child !== undefined && s.esp.child !== m.child) return false;
  return true;
}

/** Can the action act on this message here? Messages it cannot act on are not counted (nth) either. */
export function actionApplies(a: FaultAction, s: Subject): boolean {
  if (a.type === 'dead') return true;
  if (s.point === 'keepalive') return false;
  if (!ACTION_TRAITS[a.type].dirs.includes(s.dir)) return false;
  if (!('msg' in s)) return true;
  const x = s.msg;
  // content changes happen while the message is built: a retransmit resends the (already changed) bytes
  const built = !x.retransmit;
  switch (a.type) {
    case 'notify':
      return s.dir === 'in' ? !x.isResponse : x.isResponse && built;
    case 'ke':
      return (
        built &&
        (x.payloads
          ? x.payloads.includes(PayloadType.KE)
          : x.exchange === ExchangeType.IKE_SA_INIT || x.exchange === ExchangeType.CREATE_CHILD_SA)
      );
    case 'unknown-payload':
      return built && (!a.sk || x.exchange !== ExchangeType.IKE_SA_INIT);
    case 'wrong-spi':
    case 'wrong-mid':
      return built;
    case 'corrupt':
      return x.exchange !== ExchangeType.IKE_SA_INIT;
    case 'no-retransmit':
      return x.retransmit === true;
    case 'collide':
      // the peer's first transmission of a CHILD_SA rekey (decrypted, naming one of our CHILD_SAs): a retransmit
      // of it finds our rekey already started. One that arrives while ours could not start (an exchange of ours in
      // flight, say a DPD) is not counted either: a `--count 1` rule waits for a rekey it can collide with.
      return built && !x.isResponse && x.exchange === ExchangeType.CREATE_CHILD_SA && x.rekeys !== undefined && x.rekeys.busy === undefined;
    case 'no-delete':
      return built && x.exchange === ExchangeType.INFORMATIONAL && !x.isResponse && (x.payloads?.includes(PayloadType.DELETE) ?? false);
    default:
      return true;
  }
}
