// The public types of the TypeScript API (src/api.ts re-exports them): what a test suite writes and reads. They
// name the config and operations in swanctl's vocabulary, as the YAML and the CLI do, so nothing new is to learn.
import type { IkelabConfig } from '../config/types.js';
import type { FaultRuleInfo } from '../faults/model.js';
import type { EventFields, EventName, IkelabEvent } from '../log/events.js';
import type { Outcome } from '../ops/outcome.js';
import type { ChildJson, SaJson } from '../ops/sa-json.js';

/**
 * A config: a path to a YAML file, the YAML text itself (any string with a line break, or starting with `{`), or
 * an object in the YAML's shape (swanctl names: `{ daemon: { listen: [...] }, connections: { ... } }`).
 */
export type ConfigInput = string | Record<string, unknown>;

/** Where the charon-style log lines go: nowhere (default), stdout, or a function called with each line. */
export type LogTarget = 'silent' | 'stdout' | ((line: string) => void);

export interface StartPeerOptions {
  /** Default 'silent'. Replaces daemon.log.stdout of the config; its file, json and timeline outputs are kept. */
  log?: LogTarget;
  /** How config errors name the config when it is not a file (default `<config text>` / `<config object>`). */
  name?: string;
}

/**
 * What `on` and `waitFor` listen to: an event name (`ike.established`), a family prefix (`ike.` or `ike.*`), or
 * `*` for every event.
 */
export type EventPattern = EventName | `${string}.` | `${string}.*` | '*';

/** Only events whose fields equal all of these, or for which the function returns true. */
export type EventMatch = Partial<EventFields> | ((e: IkelabEvent) => boolean);

export interface WaitForOptions {
  match?: EventMatch;
  /** Reject with a PeerError (reason 'timeout') after this long; default 10000. */
  timeoutMs?: number;
}

/** A list of proposals or traffic selectors: swanctl's comma-separated text, or its items. */
export type ListText = string | readonly string[];

/**
 * `peer.initiate(...)`: the child to bring up (its IKE_SA first when none is up) or the IKE_SA, plus overrides
 * for this one initiation only (`ikelab initiate --psk/--proposals/--esp-proposals/--local-ts/--remote-ts`): the
 * loaded config stays as it is. psk or proposals always start a new IKE_SA; the others alone a new CHILD_SA.
 */
export interface InitiateRequest {
  ike?: string;
  child?: string;
  /** A secret as the config writes one (text, or 0x... hex). */
  psk?: string;
  proposals?: ListText;
  espProposals?: ListText;
  localTs?: ListText;
  remoteTs?: ListText;
  /**
   * Stop waiting after this long (the initiation goes on in the daemon): a PeerError saying so. Default: long
   * enough for both exchanges to give up after their retransmits (daemon.retransmit), plus 5 s.
   */
  timeoutMs?: number;
}

/** What `initiate` resolves with: the IKE_SA as `list-sas --json` shows it, and the CHILD_SA brought up. */
export interface InitiateResult {
  ike: SaJson;
  child?: ChildJson;
}

/** `terminate` / `rekey` target: a child name (or CHILD_SA unique id) or an IKE_SA name (or unique id). */
export type SaTarget = string | { ike: string; child?: undefined } | { child: string; ike?: undefined };

export interface RekeyOptions {
  /** CHILD_SA rekeys only: the DH group of this one rekey (0 = none, no PFS); `ikelab rekey --dh`. */
  dh?: number;
  timeoutMs?: number;
}

/** A fault rule as `ikelab fault add` takes it: the criteria and action in the CLI text or as YAML-like objects. */
export interface FaultRuleInput {
  /** `exchange=IKE_AUTH,dir=in,request` or `{ exchange: 'IKE_AUTH', dir: 'in', request: true }`; absent: all. */
  match?: string | Record<string, string | number | boolean | readonly (string | number)[]>;
  /** `drop`, `delay=400ms`, `notify=AUTHENTICATION_FAILED`, or `{ delay: '400ms' }`. */
  action: string | Record<string, string | number | boolean>;
  /** Fire at most this often. */
  count?: number;
}

export interface PeerFaults {
  add(name: string, rule: FaultRuleInput): FaultRuleInfo;
  /** One rule by name (an error if there is none), or all; returns the names removed. */
  clear(name?: string): string[];
  list(): FaultRuleInfo[];
}

/** One ikelab daemon in this process, on real UDP sockets (no control socket). */
export interface Peer {
  /** The configuration in force. */
  readonly config: IkelabConfig;
  /** Resolves once the CHILD_SA (or, for `{ ike }` alone, the IKE_SA) is established; rejects with a PeerError. */
  initiate(target: string | InitiateRequest): Promise<InitiateResult>;
  /** DELETE (a string names a child); resolves once the SAs are gone, rejects with a PeerError if they are not. */
  terminate(target: SaTarget, options?: { timeoutMs?: number }): Promise<Outcome>;
  /** Resolves once each target was replaced (ikeId / childId: the new SA), rejects with the notify of a refusal. */
  rekey(target: SaTarget, options?: RekeyOptions): Promise<Outcome>;
  /** Calls `listener` for each matching event from now on; returns the unsubscribe function. */
  on(pattern: EventPattern, listener: (e: IkelabEvent) => void): () => void;
  /** The next matching event (from now on). */
  waitFor(pattern: EventPattern, options?: WaitForOptions): Promise<IkelabEvent>;
  /** The SAs as `ikelab list-sas --json` shows them. */
  listSas(): SaJson[];
  readonly fault: PeerFaults;
  /**
   * DELETE for every established IKE_SA (waiting up to 2 s for the answers, as `ikelab start` on SIGTERM), then
   * closes the sockets and the log; pending waits reject. Idempotent: every call returns the same promise.
   */
  stop(): Promise<void>;
}

export type { ChildJson, EventFields, EventName, FaultRuleInfo, IkelabConfig, IkelabEvent, Outcome, SaJson };
