// The public types of the TypeScript API (src/api.ts re-exports them): what a test suite writes and reads. They
// name the config and operations in swanctl's vocabulary, as the YAML and the CLI do, so nothing new is to learn.
import type { IkelabConfig } from '../config/types.js';
import type { FaultRuleInfo } from '../faults/model.js';
import type { EventFields, EventName, IkelabEvent } from '../log/events.js';
import type { LoadStatus } from '../ops/load-run.js';
import type { Outcome } from '../ops/outcome.js';
import type { StormStatus } from '../ops/storm.js';
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

/**
 * `peer.load(...)`: a load run as `ikelab initiate --count N --rate R` makes one (distinct identities with
 * idPattern, source addresses from sourcePool, no INITIAL_CONTACT unless asked, an optional failure mix), with the
 * same overrides as initiate for every SA of the run.
 */
export interface LoadRunRequest extends Omit<InitiateRequest, 'timeoutMs'> {
  count: number;
  /** Initiations per second; 0: all at once. Default 0. */
  rate?: number;
  /** IDi per SA, `%d` the SA's index from 1 (`c%d@example.com`). */
  idPattern?: string;
  /** `A-B`, a CIDR, or a comma-separated list: each address must be in daemon.listen. */
  sourcePool?: string;
  initialContact?: boolean;
  /** `wrong-psk=5%,no-proposal=2%,silent-after-auth=1%` */
  mix?: string;
  mixSeed?: number;
  /** IKE_SAs connecting at once per source address (default 4, below charon's block_threshold); 0: no limit. */
  maxHalfOpen?: number;
  /** The whole run; what is not up by then counts as failed ('timeout'). Default: pacing + 2 give-ups + 5 s. */
  timeoutMs?: number;
}

/**
 * `peer.storm(...)`: `ikelab rekey --all --rate R` (kind rekey; scope all, ike or child) or `ikelab dpd --all
 * --rate R` (kind dpd) over the IKE_SAs established when it begins.
 */
export interface StormRunRequest {
  kind: 'rekey' | 'dpd';
  scope?: 'all' | 'ike' | 'child';
  /** Requests per second; 0: all at once. Default 0. */
  rate?: number;
  timeoutMs?: number;
  /** Only the IKE_SAs of this connection name or unique id. */
  ike?: string;
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
  /**
   * A load run; resolves with its summary (attempted, established, failed by reason, setup p50/p99, achieved rate,
   * the mix's classes) once every SA settled or the run timed out. Failures are counted, not thrown: a load run is
   * a measurement. Rejects with an OpError a request the daemon refuses, or when the peer is stopped.
   */
  load(request: LoadRunRequest): Promise<LoadSummary>;
  /** A rekey or DPD storm; resolves with its summary (succeeded, failed by reason, latency, rate) when it is over. */
  storm(request: StormRunRequest): Promise<StormSummary>;
  /** The SAs as `ikelab list-sas --json` shows them. */
  listSas(): SaJson[];
  readonly fault: PeerFaults;
  /**
   * DELETE for every established IKE_SA (waiting up to 1 s from the first for the answers, as `ikelab start` on
   * SIGTERM), then closes the sockets and the log; pending waits reject. Idempotent: every call returns the same
   * promise.
   */
  stop(): Promise<void>;
}

/** What `ikelab initiate --count N --json` prints at the end. */
export type LoadSummary = LoadStatus;
/** What `ikelab rekey --all --json` / `ikelab dpd --all --json` print at the end. */
export type StormSummary = StormStatus;

export type { ChildJson, EventFields, EventName, FaultRuleInfo, IkelabConfig, IkelabEvent, Outcome, SaJson };
