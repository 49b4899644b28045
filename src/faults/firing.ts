// What a firing looks like in the logs: one charon-style line for the IKE_SA's log
// (`fault 'dpd-loss': dropped INFORMATIONAL request 7`) and one JSON event for machines, so a reproduction run
// shows exactly which injected fault caused which effect next to the protocol lines it caused.

import { charonExchangeName, notifyLongName } from '../wire/names.js';
import { formatAction } from './actions.js';
import type { FaultDecision, FaultEvent, FaultFiring, FaultRule } from './model.js';
import type { Subject } from './match.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A decision before the engine attaches rule name, firing record and releases. */
export type Outcome = DistributiveOmit<Exclude<FaultDecision, { kind: 'pass' }>, 'rule' | 'firing' | 'release'>;

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** `INFORMATIONAL request 7`, `outbound ESP packet SPI c1a2b3c4 seq 17`, `NAT-T keepalive`. */
export function describeSubject(s: Subject): string {
  if ('msg' in s) return `${charonExchangeName(s.msg.exchange)} ${s.msg.isResponse ? 'response' : 'request'} ${s.msg.messageId >>> 0}`;
  if ('esp' in s) return `${s.dir === 'out' ? 'outbound' : 'inbound'} ESP packet SPI ${hex8(s.esp.spi)} seq ${s.esp.seq}`;
  return 'NAT-T keepalive';
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The verb phrase: "dropped X", "delayed X by 400 ms", ... */
function describeOutcome(rule: FaultRule, o: Outcome, s: Subject): string {
  const x = describeSubject(s);
  switch (o.kind) {
    case 'drop':
      if (rule.action.type === 'dead') return `dropped ${x} (dead until cleared)`;
      if (rule.action.type === 'no-retransmit') return `suppressed retransmit of ${x}`;
      return `dropped ${x}`;
    case 'delay':
      return `delayed ${x} by ${o.ms} ms`;
    case 'duplicate':
      return `duplicated ${x} (${plural(o.copies, 'extra copy', 'extra copies')}${o.gapMs ? `, ${o.gapMs} ms apart` : ''})`;
    case 'hold': {
      const after = rule.action.type === 'reorder' ? rule.action.after : 1;
      return `holding ${x} until ${plural(after, 'later message')} passed (at most ${o.maxMs} ms)`;
    }
    case 'corrupt':
      return `corrupted the ${o.where.toUpperCase()} of ${x}`;
    case 'truncate':
      return o.keep >= 0 ? `truncated ${x} to ${o.keep} bytes` : `cut ${-o.keep} bytes off ${x}`;
    case 'notify': {
      const n = `${notifyLongName(o.notifyType)}${o.data.length === 2 ? ` (group ${o.data.readUInt16BE(0)})` : ''}`;
      return s.dir === 'in' ? `answering ${x} with ${n} instead of processing it` : `sending ${n} instead of ${x}`;
    }
    case 'ke':
      if (o.mode === 'omit') return `omitting the KE payload of ${x}`;
      if (o.mode === 'empty') return `sending an empty KE payload in ${x}`;
      if (o.mode === 'group') return `offering DH group ${o.group} in ${x}`;
      return `filling the KE data of ${x} with 0x${o.byte.toString(16).padStart(2, '0')}`;
    case 'unknown-payload':
      return `adding unknown ${o.critical ? 'critical ' : ''}payload ${o.payloadType} to ${x}${o.sk ? ' (inside SK)' : ''}`;
    case 'wrong-spi':
      return o.spi !== undefined ? `sending ${x} with SPI ${hex8(o.spi)}` : `sending ${x} with the recipient's SPI inverted`;
    case 'wrong-mid':
      return `sending ${x} with message ID ${o.messageId}`;
    case 'no-delete':
      return `not sending the DELETE in ${x}`;
    case 'collide': {
      const which = 'msg' in s && s.msg.rekeys ? `CHILD_SA ${s.msg.rekeys.label}` : `the CHILD_SA ${x} rekeys`;
      return `starting a rekey of ${which} to collide with the peer's (${o.outcome === 'win' ? "ikelab's" : "the peer's"} will win)`;
    }
    case 'replay':
      return `replaying every message received so far, ${o.order === 'forward' ? 'old to new' : 'new to old'}, with ${x}`;
    case 'esp-replay':
      return `replaying the last ${plural(o.count, 'packet')} with ${x}`;
    case 'esp-seq-jump':
      return `advancing the sequence number by ${o.by} before ${x}`;
  }
}

export function makeFiring(rule: FaultRule, o: Outcome, s: Subject, fired: number, now: number): FaultFiring {
  // key order as read in a log: what, where, which message, then the counters
  const event: FaultEvent = {
    event: 'fault.fired',
    rule: rule.name,
    action: formatAction(rule.action),
    point: s.point,
    direction: s.dir,
    ike: s.ike.name,
    ikeId: s.ike.uniqueId,
    ...('msg' in s
      ? {
          exchange: charonExchangeName(s.msg.exchange),
          role: s.msg.isResponse ? 'response' : 'request',
          messageId: s.msg.messageId >>> 0,
          ...(s.msg.retransmit ? { retransmit: true } : {}),
        }
      : {}),
    ...('msg' in s && o.kind === 'collide' && s.msg.rekeys ? { child: s.msg.rekeys.child } : {}),
    ...('esp' in s ? { child: s.esp.child, spi: hex8(s.esp.spi), seq: Number(s.esp.seq) } : {}),
    fired,
    at: now,
  };
  return {
    group: 'msg' in s ? 'IKE' : 'esp' in s ? 'ESP' : 'NET',
    text: `fault '${rule.name}': ${describeOutcome(rule, o, s)}`,
    event,
  };
}
