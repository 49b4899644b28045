// The YAML shape (snake_case, swanctl.conf key names) as zod schemas. Values come out parsed (durations in
// seconds, proposals, traffic selectors, booleans) but without defaults; build.ts applies those.

import type { z } from 'zod';
import { parseDuration } from './duration.js';
import { faultsField } from './faults.js';
import { Shown, ValueError } from './errors.js';
import { EXPECTED_PROPOSAL, parseProposals, type ProposalProtocol } from './proposals.js';
import { opt, req, section, named } from './schema-helpers.js';
import { PEER_PROFILES } from './profiles.js';
import { parseTs } from './ts.js';
import {
  parseBool,
  parseEach,
  parseEnum,
  parseInteger,
  parseIpAddress,
  parseList,
  parseLocalAddr,
  parseNumber,
  parsePort,
  parseRemoteAddr,
  parseSecret,
  parseString,
} from './values.js';

/** charon's debug groups (utils/debug.h), lowercase, plus 'default'. */
export const LOG_GROUPS = [
  'default',
  'dmn',
  'mgr',
  'ike',
  'chd',
  'job',
  'cfg',
  'knl',
  'net',
  'asn',
  'enc',
  'tnc',
  'imc',
  'imv',
  'pts',
  'tls',
  'app',
  'esp',
  'lib',
] as const;

const duration = opt(parseDuration);
const bool = opt(parseBool);
const dpdAction = opt(parseEnum(['clear', 'restart', 'trap', 'none'] as const));
const startAction = opt(parseEnum(['none', 'start', 'trap'] as const));

/** Proposal strings and their parsed form, kept together so the texts can be logged as configured. */
function proposals(protocol: ProposalProtocol) {
  return opt((v) => {
    const texts = parseList(v, EXPECTED_PROPOSAL[protocol]);
    const list = parseEach(v, (t) => parseProposals([t], protocol), EXPECTED_PROPOSAL[protocol]);
    if (!list.length) throw new ValueError(EXPECTED_PROPOSAL[protocol], v, 'empty list');
    return { texts, proposals: list.flat().map((p, i) => ({ ...p, num: i + 1 })), listed: Array.isArray(v) };
  });
}

const tsList = opt((v) => parseEach(v, parseTs, 'traffic selectors'));

const levels = opt((v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ValueError(`a mapping of log groups (${LOG_GROUPS.join(', ')}) to levels -1..4`, v);
  }
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(v)) {
    const group = key.toLowerCase();
    if (!(LOG_GROUPS as readonly string[]).includes(group)) {
      const e = new ValueError(`a charon log group: ${LOG_GROUPS.join(', ')}`, key, 'unknown log group');
      e.path = [key];
      throw e;
    }
    try {
      out[group] = parseInteger(value, -1, 4, 'a log level -1..4');
    } catch (e) {
      if (e instanceof ValueError) e.path = [key];
      throw e;
    }
  }
  return out;
});

const retransmit = section('daemon.retransmit', {
  timeout: opt((v) => positive(parseDuration(v), 'seconds before the first retransmit, > 0', v)),
  base: opt((v) => parseNumber(v, 1, 'a backoff base >= 1 such as 1.8')),
  tries: opt((v) => parseInteger(v, 0, 1000, 'a number of retransmits >= 0')),
  jitter: opt((v) => {
    const n = parseNumber(v, 0, 'a jitter in percent 0..100');
    if (n > 100) throw new ValueError('a jitter in percent 0..100', v);
    return n;
  }),
  limit: duration,
}).optional();

function positive(n: number, expected: string, v: unknown): number {
  if (n > 0) return n;
  throw new ValueError(expected, v);
}

const log = section('daemon.log', {
  stdout: bool,
  file: opt((v) => parseString(v, 'a file path')),
  json: opt((v) => parseString(v, 'stdout, stderr or a file path')),
  timeline: opt((v) => parseString(v, 'a file path')),
  syslog_prefix: bool,
  hostname: opt((v) => parseString(v, 'a host name')),
  time_format: opt(parseEnum(['charon', 'iso', 'none'] as const)),
  levels,
}).optional();

/** strongswan.conf's DoS protection settings: numbers of half-open IKE_SAs, 0 = that check is off. */
const halfOpenCount = opt((v) => parseInteger(v, 0, 0xffffffff, 'a number of half-open IKE_SAs >= 0 (0 = off)'));

const daemon = section('daemon', {
  listen: opt((v) => parseEach(v, parseIpAddress, 'IP addresses to listen on')),
  port: opt(parsePort),
  natt_port: opt(parsePort),
  control_socket: opt((v) => parseString(v, 'a unix socket path')),
  ipsec_backend: opt(parseEnum(['userspace', 'xfrm', 'none'] as const)),
  keep_alive: duration,
  max_child_sas: opt((v) => parseInteger(v, 1, 100000, 'a number of CHILD_SAs per IKE_SA >= 1')),
  cookie_threshold: halfOpenCount,
  cookie_threshold_ip: halfOpenCount,
  block_threshold: halfOpenCount,
  init_limit_half_open: halfOpenCount,
  // overload: the sockets' SO_RCVBUF, and how many new IKE_SA_INITs may wait in the receive queue (src/net)
  receive_buffer: opt((v) => {
    const expected = 'a socket receive buffer size in bytes, 0 (system default) or 4096..1073741824';
    const n = parseInteger(v, 0, 1 << 30, expected);
    if (n !== 0 && n < 4096) throw new ValueError(expected, v, 'too small for a burst of IKE_SA_INITs');
    return n;
  }),
  init_queue_limit: opt((v) => parseInteger(v, 0, 1_000_000, "a number of queued new IKE_SA_INITs >= 0 (0 = only the queue's hard bound)")),
  fragment_size: opt((v) => {
    // strongswan.conf charon.fragment_size: the IP datagram size IKE fragments are cut to (RFC 7383)
    const expected = 'a fragment size in bytes, 0 (576 for IPv4, 1280 for IPv6) or 128..65535';
    const n = parseInteger(v, 0, 65535, expected);
    if (n !== 0 && n < 128) throw new ValueError(expected, v, 'too small for an IKE header and one encrypted fragment');
    return n;
  }),
  // Wireshark decryption tables (strongSwan's save-keys plugin) and a capture of what ikelab sends and receives
  save_keys: opt((v) => parseString(v, 'a directory for the Wireshark key tables')),
  pcap: opt((v) => parseString(v, 'a pcap file path')),
  retransmit,
  log,
}).optional();

const endpoint = (what: string) =>
  section(what, {
    auth: opt(parseEnum(['psk'] as const)),
    id: opt((v) => parseString(v, 'an IKE identity such as 10.98.0.2, vpn.example.com or %any')),
  }).optional();

const child = section('connections.<conn>.children.<child>', {
  local_ts: tsList,
  remote_ts: tsList,
  esp_proposals: proposals('esp'),
  mode: opt(parseEnum(['tunnel', 'transport'] as const)),
  rekey_time: duration,
  life_time: duration,
  rand_time: duration,
  start_action: startAction,
  close_action: startAction,
  dpd_action: dpdAction,
  replay_window: opt((v) => parseInteger(v, 0, 0xffffffff, 'a replay window size >= 0 (packets)')),
  ipcomp: opt((v) => {
    if (parseBool(v)) throw new ValueError('no', v, 'IPComp is not implemented by ikelab');
    return false as const;
  }),
  host_addrs: opt((v) => parseEach(v, parseIpAddress, 'IP addresses')),
});

const connection = section(
  'connections.<conn>',
  {
    local_addrs: opt((v) => parseEach(v, parseLocalAddr, 'local addresses')),
    remote_addrs: req((v) => {
      const list = parseEach(v, parseRemoteAddr, 'remote addresses');
      if (!list.length) throw new ValueError('at least one remote address, a DNS name or %any', v);
      return list;
    }, 'remote addresses (IP addresses, DNS names or %any)'),
    local_port: opt(parsePort),
    remote_port: opt(parsePort),
    // the defaults of a kind of peer (src/config/profiles.ts, docs/PROFILES.md); written keys win over them
    profile: opt(parseEnum(PEER_PROFILES)),
    version: opt((v) => {
      const n = parseInteger(v, 0, 2, 'IKE version 2 (or 0 = any)');
      if (n === 1) throw new ValueError('IKE version 2 (or 0 = any)', v, 'ikelab speaks IKEv2 only');
      return 2 as const;
    }),
    proposals: proposals('ike'),
    dpd_delay: duration,
    dpd_timeout: duration,
    dpd_action: dpdAction,
    rekey_time: duration,
    reauth_time: duration,
    over_time: duration,
    rand_time: duration,
    encap: bool,
    mobike: bool,
    fragmentation: opt(parseEnum(['yes', 'no', 'accept', 'force'] as const)),
    keyingtries: opt((v) => parseInteger(v, 0, 0xffffffff, 'a number of attempts >= 0 (0 = forever)')),
    unique: opt(parseEnum(['no', 'never', 'keep', 'replace'] as const)),
    send_certreq: bool,
    local: endpoint('connections.<conn>.local'),
    remote: endpoint('connections.<conn>.remote'),
    children: named('connections.<conn>.children', child),
  },
  {
    // swanctl has no IKE life_time: an IKE_SA's hard end is rekey_time (or reauth_time) + over_time, never before
    // the rekey point, so the CHILD_SA's life_time < rekey_time mistake cannot be made here
    life_time: 'an IKE_SA ends over_time after rekey_time/reauth_time (swanctl); life_time belongs to children.<child>',
  },
);

/** secrets.ike<suffix>: `id` or `id<suffix>` keys (a string or a list each) and `secret`. */
const secret = opt((v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ValueError('a secret section with id (or id-1, id-2, ...) and secret keys', v);
  }
  const ids: string[] = [];
  let value: unknown;
  for (const [key, item] of Object.entries(v)) {
    if (key === 'secret') {
      value = item;
      continue;
    }
    if (!/^id/.test(key)) {
      const e = new ValueError(
        'one of the keys of secrets.<ike...>: id, id<suffix> (id-1, id-2, ...), secret',
        new Shown(`unknown key "${key}"`),
      );
      e.path = [key];
      throw e;
    }
    try {
      ids.push(...parseList(item, 'IKE identities'));
    } catch (e) {
      if (e instanceof ValueError) e.path = [key, ...e.path];
      throw e;
    }
  }
  if (value === undefined || value === null) {
    const e = new ValueError('a secret string (text, 0x<hex> or 0s<base64>)', undefined, 'this key is required');
    e.path = ['secret'];
    throw e;
  }
  try {
    return { ids, secret: parseSecret(value) };
  } catch (e) {
    if (e instanceof ValueError) e.path = ['secret'];
    throw e;
  }
});

export const configSchema = section('the config file', {
  daemon,
  connections: named('connections', connection),
  secrets: named('secrets', secret),
  faults: faultsField,
});

export type RawConfig = z.output<typeof configSchema>;
export type RawConnection = z.output<typeof connection>;
export type RawChild = z.output<typeof child>;
