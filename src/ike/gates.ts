// State gates (RFC 7296 1.2-1.5, 2.1, 2.2): which exchanges a message may carry in which IKE_SA state, decided
// from the cleartext header alone, before anything is decrypted and before any task runs. Everything in the header
// is visible to anyone on the path (SPIs, message IDs), so a message that fails a gate is dropped without an answer
// and without consuming a message ID: it changes nothing.
import { ExchangeType } from '../wire/constants.js';
import { charonExchangeName } from '../wire/names.js';
import type { IkeHeader } from '../wire/types.js';
import type { IkeState } from './ike-sa.js';

/** What a gate needs to know about an IKE_SA. */
export interface GateView {
  /** We are the original initiator of this IKE_SA. */
  initiator: boolean;
  state: IkeState;
  hasKeys: boolean;
}

/** States in which the IKE_SA is authenticated and may carry CREATE_CHILD_SA and INFORMATIONAL exchanges. */
const UP: ReadonlySet<IkeState> = new Set<IkeState>(['ESTABLISHED', 'REKEYING', 'REKEYED', 'DELETING']);

type Header = Pick<IkeHeader, 'exchange' | 'initiator' | 'response'>;

/** undefined when a request from the peer may be processed in this state, else why it is dropped. */
export function requestGate(sa: GateView, h: Header): string | undefined {
  // The I flag names the original initiator of the IKE_SA (RFC 7296 3.1); the peer's messages carry the opposite
  // of ours.
  if (h.initiator === sa.initiator) return 'wrong Initiator flag';
  switch (h.exchange) {
    case ExchangeType.IKE_SA_INIT:
      // Only ever the first message of a new IKE_SA; keys and SPIs of an existing one are never replaced.
      return !sa.initiator && sa.state === 'CREATED' && !sa.hasKeys ? undefined : stateText(h, sa.state);
    case ExchangeType.IKE_AUTH:
      return !sa.initiator && sa.state === 'CONNECTING' && sa.hasKeys ? undefined : stateText(h, sa.state);
    case ExchangeType.CREATE_CHILD_SA:
    case ExchangeType.INFORMATIONAL:
      return UP.has(sa.state) ? undefined : stateText(h, sa.state);
    default:
      return `unsupported exchange type ${h.exchange}`;
  }
}

/**
 * undefined when a response to our outstanding request of `expected` exchange may go on to the integrity check;
 * else why it is dropped. An IKE_SA_INIT response to a protected request (or the reverse) can never be
 * authenticated, so it is dropped here; a protected response of another protected exchange is only judged after
 * its ICV was checked (TaskManager).
 */
export function responseGate(sa: GateView, h: Header, expected: number): string | undefined {
  if (h.initiator === sa.initiator) return 'wrong Initiator flag';
  if ((h.exchange === ExchangeType.IKE_SA_INIT) !== (expected === ExchangeType.IKE_SA_INIT)) {
    return `${charonExchangeName(h.exchange)} response, but expected ${charonExchangeName(expected)}`;
  }
  return undefined;
}

const stateText = (h: Header, state: IkeState): string =>
  `${charonExchangeName(h.exchange)} ${h.response ? 'response' : 'request'} in IKE_SA state ${state}`;
