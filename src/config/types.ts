// The loaded configuration: what src/config hands to the daemon, camelCase, every default applied.
// YAML keys are the snake_case of these (swanctl.conf names where swanctl has the option).

import type { Proposal } from '../wire/types.js';
import type { TsConfig } from './ts.js';
import type { FaultRuleSpec } from './faults.js';
import type { PeerProfile } from './profiles.js';

export type { TsConfig } from './ts.js';

export interface IkelabConfig {
  /** The file it was loaded from (as given), for messages. */
  file: string;
  daemon: DaemonConfig;
  connections: ConnectionConfig[];
  secrets: SecretConfig[];
  /** Fault rules (src/faults) the daemon starts with; `ikelab fault add|clear` changes the running set. */
  faults: FaultRuleSpec[];
}

export interface RetransmitConfig {
  /** Seconds before the first retransmit (charon retransmit_timeout, default 4.0). */
  timeout: number;
  /** Backoff base: retransmit n waits timeout * base^n (charon retransmit_base, default 1.8). */
  base: number;
  /** Retransmits before giving up (charon retransmit_tries, default 5). */
  tries: number;
  /** Percent of each timeout randomly taken off (charon retransmit_jitter, default 0). */
  jitter: number;
  /** Upper bound for one timeout in seconds, 0 = none (charon retransmit_limit). */
  limit: number;
}

export interface DaemonConfig {
  /** Local addresses to bind, default ['0.0.0.0']. */
  listen: string[];
  /** IKE port, default 500. */
  port: number;
  /** NAT-T port (ESP-in-UDP and IKE with the non-ESP marker), default 4500. */
  nattPort: number;
  /** Unix socket of the control interface, default `${os.tmpdir()}/ikelab.sock`. */
  controlSocket: string;
  /**
   * Where CHILD_SAs go: 'userspace' (ESP-in-UDP engine, the default: works without kernel ESP, forces UDP
   * encapsulation like charon's kernel-libipsec), 'xfrm' (Linux kernel via `ip xfrm`), 'none' (IKE only).
   */
  ipsecBackend: 'userspace' | 'xfrm' | 'none';
  /** Seconds between NAT-T keepalives when behind a NAT or encapsulating (charon keep_alive, default 20). */
  keepAlive: number;
  /**
   * CHILD_SAs one IKE_SA may hold; a CREATE_CHILD_SA beyond it is answered NO_ADDITIONAL_SAS (RFC 7296 3.10.1).
   * charon has no such limit; one authenticated peer must not be able to fill our memory with CHILD_SAs.
   */
  maxChildSas: number;
  /**
   * DoS protection, strongswan.conf's charon.* names and defaults (counts of half-open responder IKE_SAs, 0 = off):
   * COOKIEs (RFC 7296 2.6) once this many are half-open (cookie_threshold, default 30) ...
   */
  cookieThreshold: number;
  /** ... or once one source address has this many (cookie_threshold_ip, default 3); */
  cookieThresholdIp: number;
  /** new IKE_SA_INITs from an address with this many are dropped (block_threshold, default 5); */
  blockThreshold: number;
  /** new IKE_SA_INITs are dropped while this many are half-open (init_limit_half_open, default 0 = no limit). */
  initLimitHalfOpen: number;
  /**
   * SO_RCVBUF of each socket in bytes (receive_buffer, default 4 MiB; 0 = the system default). Linux caps it at
   * net.core.rmem_max; the size in effect is logged at start.
   */
  receiveBuffer: number;
  /**
   * New IKE_SA_INIT requests (responder SPI zero) that may wait in the receive queue behind the datagrams of existing
   * SAs; more are shed, counted and logged (init_queue_limit, default 1000; 0 = only the queue's hard bound).
   */
  initQueueLimit: number;
  /**
   * IKE fragmentation (RFC 7383, strongswan.conf charon.fragment_size, default 1280): the largest IP datagram a
   * protected IKE message may need (IP and UDP headers and the non-ESP marker included) before it is sent as
   * fragments, when the connection's `fragmentation` allows it; 0: 576 for IPv4, 1280 for IPv6.
   */
  fragmentSize: number;
  /**
   * Directory where every IKE_SA's and CHILD_SA's keys are appended in Wireshark's formats (ikev2_decryption_table,
   * esp_sa; src/ike/key-export.ts), like strongSwan's save-keys plugin. Off by default: the keys decrypt all traffic.
   */
  saveKeys?: string;
  /** Capture file (classic pcap, src/log/pcap.ts) of every IKE and ESP datagram sent and received. */
  pcap?: string;
  retransmit: RetransmitConfig;
  log: LogConfig;
}

export type TimeFormat = 'charon' | 'iso' | 'none';

export interface LogConfig {
  /** Log lines to stdout, default true. */
  stdout: boolean;
  /** Also append the lines to this file. */
  file?: string;
  /** Structured JSON records to 'stdout', 'stderr' or a file path. */
  json?: string;
  /** One JSON line per IKE message sent, received or retransmitted (src/log/timeline.ts), appended to this file. */
  timeline?: string;
  /** Prefix lines with `hostname charon: ` like syslog does, default false. */
  syslogPrefix: boolean;
  /** Hostname for syslogPrefix, default os.hostname(). */
  hostname?: string;
  /** 'charon' = `%b %e %T` as in the reference logs (default), 'iso', or 'none'. */
  timeFormat: TimeFormat;
  /** Lowercase charon group name (ike, chd, net, ...) or 'default' -> level -1..4; 'default' is always set (1). */
  levels: Record<string, number>;
}

export type DpdAction = 'clear' | 'restart' | 'trap' | 'none';
export type StartAction = 'none' | 'start' | 'trap';

export interface EndpointAuth {
  auth: 'psk';
  /**
   * IKE identity. Local default: the first local_addrs entry when it is an IP address, else '%any' (charon then
   * uses the address the SA runs on). Remote default: '%any' (any identity), as in swanctl.
   */
  id: string;
}

export interface ConnectionConfig {
  name: string;
  /** The kind of peer whose defaults and wire habits this connection has (src/config/profiles.ts); none: charon's. */
  profile?: PeerProfile;
  /** The profile's retransmit timing where daemon.retransmit leaves keys out; undefined: daemon.retransmit. */
  retransmit?: RetransmitConfig;
  /** IP addresses, default ['%any']. */
  localAddrs: string[];
  /** IP addresses, hostnames or '%any'; required. */
  remoteAddrs: string[];
  /** Default: daemon.port. */
  localPort: number;
  /** Default 500. */
  remotePort: number;
  version: 2;
  proposals: Proposal[];
  /** The proposal strings as configured (after list splitting), e.g. ['aes256-sha256-modp2048']. */
  proposalTexts: string[];
  /** Seconds between liveness checks, 0 = off. */
  dpdDelay: number;
  /** swanctl's dpd_timeout (IKEv1 only in charon), default 0; IKEv2 DPD gives up via the retransmit settings. */
  dpdTimeout: number;
  /** Default for the children's dpd_action (ikelab extension at connection level), default 'clear'. */
  dpdAction: DpdAction;
  /** Seconds, default 4h; 0 = no IKE rekeying. */
  rekeyTime: number;
  /** Seconds, default 0 = no reauthentication. */
  reauthTime: number;
  /** Default 10% of max(rekey_time, reauth_time). */
  overTime: number;
  /** Default min(over_time, rekey_time / 2) (charon's rule). */
  randTime: number;
  /** Force UDP encapsulation (NAT-T) even without a NAT, default false. */
  encap: boolean;
  mobike: boolean;
  fragmentation: 'yes' | 'no' | 'accept' | 'force';
  keyingtries: number;
  unique: 'no' | 'never' | 'keep' | 'replace';
  sendCertreq: boolean;
  local: EndpointAuth;
  remote: EndpointAuth;
  children: ChildConfig[];
}

export interface ChildConfig {
  name: string;
  /** Default [dynamic]. */
  localTs: TsConfig[];
  /** Default [dynamic]. */
  remoteTs: TsConfig[];
  espProposals: Proposal[];
  espProposalTexts: string[];
  mode: 'tunnel' | 'transport';
  /** Seconds, default 1h. */
  rekeyTime: number;
  /** Default rekey_time + 10% (charon's integer arithmetic for whole seconds). */
  lifeTime: number;
  /** Default life_time - rekey_time. */
  randTime: number;
  startAction: StartAction;
  closeAction: StartAction;
  dpdAction: DpdAction;
  replayWindow: number;
  ipcomp: false;
  /** Addresses inside local_ts that ikelab itself answers pings for (ikelab extension, key host_addrs). */
  hostAddrs: string[];
}

export interface SecretConfig {
  /** The section name, e.g. 'ike-bar'. */
  name: string;
  type: 'ike';
  /** Owner identities; ['%any'] when none given (as swanctl). */
  ids: string[];
  secret: Buffer;
}
