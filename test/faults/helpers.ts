// Contexts and a fake clock for the fault engine's unit tests.
import { FaultEngine } from '../../src/faults/engine.js';
import type { EspPacketCtx, IkeMessageCtx } from '../../src/faults/model.js';
import { parseRuleTexts, type RuleTexts } from '../../src/faults/parse.js';
import { ExchangeType as X, PayloadType as P } from '../../src/wire/constants.js';

export const BAR = { name: 'bar', uniqueId: 1 };
export const BAZ = { name: 'baz', uniqueId: 2 };

export function ike(over: Partial<IkeMessageCtx> = {}): IkeMessageCtx {
  return { ike: BAR, exchange: X.INFORMATIONAL, isResponse: false, messageId: 7, payloads: [], notifies: [], ...over };
}

/** An empty INFORMATIONAL request: a liveness check. */
export const liveness = (mid = 7, over: Partial<IkeMessageCtx> = {}): IkeMessageCtx => ike({ messageId: mid, ...over });
export const deleteReq = (mid = 9): IkeMessageCtx => ike({ messageId: mid, payloads: [P.DELETE] });
export const rekeyReq = (mid = 3, over: Partial<IkeMessageCtx> = {}): IkeMessageCtx =>
  ike({ exchange: X.CREATE_CHILD_SA, messageId: mid, payloads: [P.SA, P.NONCE, P.KE, P.TSi, P.TSr], ...over });
export const initReq = (): IkeMessageCtx =>
  ike({ exchange: X.IKE_SA_INIT, messageId: 0, payloads: [P.SA, P.KE, P.NONCE, P.NOTIFY, P.NOTIFY], notifies: [16388, 16389] });
export const authReq = (): IkeMessageCtx => ike({ exchange: X.IKE_AUTH, messageId: 1, payloads: [P.IDi, P.AUTH, P.SA, P.TSi, P.TSr] });

export function esp(over: Partial<EspPacketCtx> = {}): EspPacketCtx {
  return { ike: BAR, child: 'net', spi: 0xc1a2b3c4, seq: 17, ...over };
}

export class FakeClock {
  t = 1_000_000;
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** An engine on a fake clock with rules given in CLI text. */
export function engineWith(...rules: RuleTexts[]): { engine: FaultEngine; clock: FakeClock } {
  const clock = new FakeClock();
  const engine = new FaultEngine({ now: clock.now });
  for (const r of rules) engine.add(parseRuleTexts(r));
  return { engine, clock };
}
