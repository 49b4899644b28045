// Public surface of the wire codec (pure: no I/O, no crypto).

export * from './constants.js';
export type * from './types.js';
export { type Decoded, errorNotify, WireError, type WireErrorCode } from './errors.js';
export { decodeHeader, encodeHeader } from './header.js';
export {
  decodeMessage,
  decodePayloads,
  encodeMessage,
  encodePayloads,
  encodeSkfPrefix,
  encodeSkPrefix,
  isUnknown,
  MAX_PAYLOADS,
} from './message.js';
export { checkMessageRules, messageRules, ruleFor } from './rules.js';
export {
  charonExchangeName,
  describeMessage,
  describePayload,
  describePayloads,
  notifyLongName,
  notifyName,
  payloadName,
  proposalsToString,
  proposalToString,
  transformName,
} from './names.js';
