// The fault engine's vocabulary (see index.ts for the whole picture): what a hook point tells the engine about
// one message or packet (the contexts), what a rule is made of (match + action + lifetime), and what the engine
// answers (a decision plus, when a rule fired, a firing record to log). Plain data only: rules must survive a
// round trip through text, YAML and the control socket's JSON, and decisions are applied by code that lives in
// src/ike and src/ipsec, which this module never imports.

/** `in`: received from the peer; `out`: about to be sent to it. */
export type Direction = 'in' | 'out';

/** Which protocol a rule is about. A `dead` rule covers both, and NAT-T keepalives. */
export type Layer = 'ike' | 'esp';

/**
 * Where the engine is asked. ike-send: an IKE message about to be encoded and sent (or a retransmit about to be
 * resent); ike-receive: an IKE message received for an IKE_SA; esp-seal / esp-open: one ESP packet of a CHILD_SA;
 * keepalive: a NAT-T keepalive about to be sent (only `dead` applies there).
 */
export type HookPoint = 'ike-send' | 'ike-receive' | 'esp-seal' | 'esp-open' | 'keepalive';

export const POINT_DIRECTION: Readonly<Record<HookPoint, Direction>> = {
  'ike-send': 'out',
  'ike-receive': 'in',
  'esp-seal': 'out',
  'esp-open': 'in',
  keepalive: 'out',
};

/** The IKE_SA a message or packet belongs to: its connection name and charon-style unique id (`bar[3]`). */
export interface SaRef {
  name: string;
  uniqueId: number;
}

export interface IkeMessageCtx {
  ike: SaRef;
  exchange: number;
  isResponse: boolean;
  messageId: number;
  /**
   * Payload types in message order; for a protected message the inner ones (what charon logs in `[ ... ]`).
   * Undefined when the hook point cannot know them: rules on payloads, notifies or `empty` then do not match.
   */
  payloads?: readonly number[];
  /** Notify types carried (N payloads), when payloads are known. */
  notifies?: readonly number[];
  /** The same bytes once more: our retransmitted request, a cached response resent, the peer's retransmit. */
  retransmit?: boolean;
  /**
   * A CREATE_CHILD_SA request whose N(REKEY_SA) names one of our CHILD_SAs: its config name and label (`net{2}`),
   * and, when ikelab could not start its own rekey of it at this moment, why not (`busy`: the CHILD_SA is not
   * installed, the IKE_SA not established, or an exchange of ours is in flight or queued). Only the receive point
   * knows it (it decrypts to describe the message); `collide` needs it and acts only when `busy` is absent.
   */
  rekeys?: { child: string; label: string; busy?: string };
}

export interface EspPacketCtx {
  ike: SaRef;
  /** CHILD_SA config name. */
  child: string;
  /** SPI in the ESP header (outbound: the peer's inbound SPI). */
  spi: number;
  /** Sequence number the packet carries (outbound: the one it is about to get). */
  seq: number | bigint;
}

export interface KeepaliveCtx {
  ike: SaRef;
}

// ---------------------------------------------------------------------------------------------------- rules

export interface FaultMatch {
  /** Inferred from the action when not given: esp for esp-* actions, else ike. */
  layer: Layer;
  /** Connection name of the IKE_SA. */
  ike?: string;
  /** IKE_SA unique id (charon's `bar[3]` -> 3). */
  ikeId?: number;
  /** CHILD_SA config name (ESP rules). */
  child?: string;
  dir?: Direction;
  exchange?: number;
  role?: 'request' | 'response';
  messageId?: number;
  /** All of these payload types are present. */
  payloads?: number[];
  /** All of these notify types are present. */
  notifies?: number[];
  /** true: the message has no payload at all (a liveness check); false: it has some. */
  empty?: boolean;
  retransmit?: boolean;
  /** Only the nth message (1-based) that meets every other criterion. */
  nth?: number;
  /** Window, from the moment the rule was added: active from afterMs on, for forMs (default: forever). */
  afterMs?: number;
  forMs?: number;
  /** Fire with this probability (0 < p <= 1), drawn from a PRNG seeded with `seed`. */
  prob?: number;
  seed?: number;
}

export type CorruptWhere = 'icv' | 'iv';
/** Whose rekey survives a collision the `collide` action makes: ikelab's (win) or the peer's (lose). */
export type CollideOutcome = 'win' | 'lose';
export type KeMode = { mode: 'omit' } | { mode: 'empty' } | { mode: 'group'; group: number } | { mode: 'fill'; byte: number };

export type FaultAction =
  | { type: 'drop' }
  | { type: 'delay'; ms: number }
  /** copies: extra copies sent/processed after the original; gapMs between them. */
  | { type: 'duplicate'; copies: number; gapMs: number }
  /** Hold the message until `after` later messages of the same stream passed, at most maxMs. */
  | { type: 'reorder'; after: number; maxMs: number }
  | { type: 'corrupt'; where: CorruptWhere }
  /** Keep the first `keep` bytes; negative: cut -keep bytes off the end (Buffer.subarray(0, keep)). */
  | { type: 'truncate'; keep: number }
  /** Answer a request with this error notify instead of processing it, or send it instead of our response. */
  | { type: 'notify'; notify: number; group?: number }
  | ({ type: 'ke' } & KeMode)
  | { type: 'unknown-payload'; payloadType: number; critical: boolean; sk: boolean }
  | { type: 'wrong-spi' }
  /** Either an absolute message ID or an offset to the real one. */
  | { type: 'wrong-mid'; value?: number; offset?: number }
  | { type: 'no-retransmit' }
  | { type: 'no-delete' }
  /** Re-process every message received so far on this IKE_SA (libreswan replay-forward / replay-backward). */
  | { type: 'replay'; order: 'forward' | 'backward' }
  | { type: 'dead' }
  /**
   * On the peer's CHILD_SA rekey request: start our own rekey of the same CHILD_SA first, so the two cross (RFC 7296
   * 2.8.1), with nonces chosen so that ours survives (win) or the peer's does (lose).
   */
  | { type: 'collide'; outcome: CollideOutcome }
  | { type: 'esp-replay'; count: number }
  | { type: 'esp-seq-jump'; by: number };

export type ActionType = FaultAction['type'];

/** What add() takes. A missing name is made up (f1, f2, ...). */
export interface FaultRuleSpec {
  name?: string;
  match: FaultMatch;
  action: FaultAction;
  /** Lifetime: fire at most this often (default: until cleared or until the match window ends). */
  count?: number;
}

export interface FaultRule extends FaultRuleSpec {
  name: string;
}

/** waiting: before its window; active; spent: count reached; expired: window over. */
export type RuleState = 'waiting' | 'active' | 'spent' | 'expired';

export interface FaultRuleInfo {
  name: string;
  /** `--match ... --action ...` as the CLI takes it (canonical spelling). */
  text: string;
  match: FaultMatch;
  action: FaultAction;
  count?: number;
  state: RuleState;
  /** Messages that met the criteria (before nth/prob). */
  seen: number;
  fired: number;
  /** Times this rule would have fired but an earlier rule took the message. */
  shadowed: number;
  /** Messages it holds right now (reorder). */
  holding: number;
  addedAt: number;
  lastFiredAt?: number;
}

// ------------------------------------------------------------------------------------------------ decisions

/** A message held by a reorder rule; the wiring keeps the bytes under `id`. */
export interface HeldRef {
  id: number;
  rule: string;
}

/** For the logs: charon-style text (`fault 'dpd-loss': dropped INFORMATIONAL request 7`) and a JSON event. */
export interface FaultFiring {
  group: 'IKE' | 'ESP' | 'NET';
  text: string;
  event: FaultEvent;
}

export interface FaultEvent {
  event: 'fault.fired';
  rule: string;
  /** Canonical action text, e.g. `delay=400ms`. */
  action: string;
  point: HookPoint;
  direction: Direction;
  ike: string;
  ikeId: number;
  exchange?: string;
  role?: 'request' | 'response';
  messageId?: number;
  retransmit?: boolean;
  child?: string;
  spi?: string;
  seq?: number;
  /** How often this rule fired, this time included. */
  fired: number;
  /** Engine clock (ms). */
  at: number;
}

type Fired<T> = T & { rule: string; firing: FaultFiring; release?: HeldRef[] };

/**
 * What the hook point must do. `release` (on any decision): held messages whose turn came; send/process them right
 * after this one. Byte changes (corrupt, truncate) apply to the datagram as it leaves or arrives; content changes
 * (notify, ke, unknown-payload, wrong-spi, wrong-mid) before the message is protected.
 */
export type FaultDecision =
  | { kind: 'pass'; release?: HeldRef[] }
  | Fired<{ kind: 'drop' }>
  | Fired<{ kind: 'delay'; ms: number }>
  | Fired<{ kind: 'duplicate'; copies: number; gapMs: number }>
  /** Keep the message under holdId; a later decision's release (or maxMs via releaseHeld) lets it go. */
  | Fired<{ kind: 'hold'; holdId: number; maxMs: number }>
  | Fired<{ kind: 'corrupt'; where: CorruptWhere }>
  | Fired<{ kind: 'truncate'; keep: number }>
  /** data: the notification data (INVALID_KE_PAYLOAD: the 2-byte group). */
  | Fired<{ kind: 'notify'; notifyType: number; data: Buffer }>
  | Fired<{ kind: 'ke' } & KeMode>
  | Fired<{ kind: 'unknown-payload'; payloadType: number; critical: boolean; sk: boolean }>
  /** ESP: the SPI to write instead; IKE: invert the bytes of the recipient's SPI. */
  | Fired<{ kind: 'wrong-spi'; spi?: number }>
  | Fired<{ kind: 'wrong-mid'; messageId: number }>
  /** Do not send this DELETE; finish locally as if it had been answered. */
  | Fired<{ kind: 'no-delete' }>
  /** Process every message recorded for this IKE_SA in this direction (this one included) in that order. */
  | Fired<{ kind: 'replay'; order: 'forward' | 'backward' }>
  /** Start our rekey of the CHILD_SA this request rekeys, nonces set for `outcome`, then process the request. */
  | Fired<{ kind: 'collide'; outcome: CollideOutcome }>
  /** Send (open) this packet, then the last `count` packets sent (received) on the SA before it, again. */
  | Fired<{ kind: 'esp-replay'; count: number }>
  /** Advance the outbound sequence number by `by` before sealing this packet (the peer sees a gap). */
  | Fired<{ kind: 'esp-seq-jump'; by: number }>;

export type DecisionKind = FaultDecision['kind'];
