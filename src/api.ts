// ikelab as a library (`import { startPeer } from 'ikelab'`): IKEv2 peers inside a test suite, driven by promises
// and asserted on through the structured events (README "Use ikelab from TypeScript"). This file is the package's
// whole public surface; the implementation is in src/api/.
export { startPeer } from './api/peer.js';
export { PeerError } from './api/errors.js';
export { ConfigError } from './config/errors.js';
export { OpError } from './ops/context.js';
export { EVENT_NAMES } from './log/events.js';
export type {
  ChildJson,
  ConfigInput,
  EventFields,
  EventMatch,
  EventName,
  EventPattern,
  FaultRuleInfo,
  FaultRuleInput,
  IkelabConfig,
  IkelabEvent,
  InitiateRequest,
  InitiateResult,
  ListText,
  LoadRunRequest,
  LoadSummary,
  LogTarget,
  Outcome,
  Peer,
  PeerFaults,
  RekeyOptions,
  SaJson,
  SaTarget,
  StartPeerOptions,
  StormRunRequest,
  StormSummary,
  WaitForOptions,
} from './api/types.js';
