// Action + message -> what the hook point must do. Pure: everything that depends on the message (the wrong
// message ID, the inverted ESP SPI, the INVALID_KE_PAYLOAD data) is computed here, so the wiring only applies it.

import type { Subject } from './match.js';
import type { FaultAction } from './model.js';
import type { Outcome } from './firing.js';

export function outcomeOf(a: FaultAction, s: Subject): Outcome {
  switch (a.type) {
    case 'drop':
    case 'dead':
    case 'no-retransmit':
      return { kind: 'drop' };
    case 'delay':
      return { kind: 'delay', ms: a.ms };
    case 'duplicate':
      return { kind: 'duplicate', copies: a.copies, gapMs: a.gapMs };
    case 'reorder':
      // the engine assigns the hold id
      return { kind: 'hold', holdId: 0, maxMs: a.maxMs };
    case 'corrupt':
      return { kind: 'corrupt', where: a.where };
    case 'truncate':
      return { kind: 'truncate', keep: a.keep };
    case 'notify': {
      // RFC 7296 3.10.1: INVALID_KE_PAYLOAD carries the accepted DH group (2 octets); the others nothing
      const data = Buffer.alloc(a.group !== undefined ? 2 : 0);
      if (a.group !== undefined) data.writeUInt16BE(a.group, 0);
      return { kind: 'notify', notifyType: a.notify, data };
    }
    case 'ke':
      if (a.mode === 'group') return { kind: 'ke', mode: 'group', group: a.group };
      if (a.mode === 'fill') return { kind: 'ke', mode: 'fill', byte: a.byte };
      return { kind: 'ke', mode: a.mode };
    case 'unknown-payload':
      return { kind: 'unknown-payload', payloadType: a.payloadType, critical: a.critical, sk: a.sk };
    case 'wrong-spi':
      // ESP: every bit inverted, so never the real SPI and (for any SPI but 0xffffffff) never a reserved one
      return 'esp' in s ? { kind: 'wrong-spi', spi: ~s.esp.spi >>> 0 } : { kind: 'wrong-spi' };
    case 'wrong-mid': {
      const mid = 'msg' in s ? s.msg.messageId : 0;
      return { kind: 'wrong-mid', messageId: a.value ?? (((mid + (a.offset ?? 1)) % 0x1_0000_0000) + 0x1_0000_0000) % 0x1_0000_0000 };
    }
    case 'no-delete':
      return { kind: 'no-delete' };
    case 'replay':
      return { kind: 'replay', order: a.order };
    case 'collide':
      return { kind: 'collide', outcome: a.outcome };
    case 'esp-replay':
      return { kind: 'esp-replay', count: a.count };
    case 'esp-seq-jump':
      return { kind: 'esp-seq-jump', by: a.by };
  }
}
