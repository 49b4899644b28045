// Raw (validated, snake_case) config -> IkelabConfig: swanctl/charon defaults applied, derived values computed
// the way charon's vici_config.c computes them, and checks that span several keys.

import { tmpdir } from 'node:os';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parseIp } from './ip.js';
import { profileDefaults, profileProposals, type ProfileDefaults } from './profiles.js';
import { runnableProposals } from './proposal-support.js';
import type { RawChild, RawConfig, RawConnection } from './schema.js';
import type { IssueInfo } from './schema-helpers.js';
import type { TsConfig } from './ts.js';
import type { ChildConfig, ConnectionConfig, DaemonConfig, DpdAction, IkelabConfig, RetransmitConfig, SecretConfig } from './types.js';

/** daemon.max_child_sas default: far above any real tunnel's needs, far below what would hurt. */
export const DEFAULT_MAX_CHILD_SAS = 128;

/** daemon.receive_buffer default: 4 MiB holds a burst of thousands of IKE_SA_INITs (the kernel's ~208 KiB: hundreds). */
export const DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024;
/** daemon.init_queue_limit default: new IKE_SA_INITs waiting behind the existing SAs' datagrams before shedding. */
export const DEFAULT_INIT_QUEUE_LIMIT = 1000;

export type Fail = (path: (string | number)[], info: IssueInfo) => never;

/** charon: IKE rekey 4h, CHILD rekey 1h (vici_config.c LFT_DEFAULT_*). */
const IKE_REKEY_DEFAULT = 4 * 3600;
const CHILD_REKEY_DEFAULT = 3600;

/** x * pct / 100 with charon's integer arithmetic for whole seconds, exact for fractional lab timings. */
function percent(x: number, pct: number): number {
  return Number.isInteger(x) ? Math.floor((x * pct) / 100) : (x * pct) / 100;
}

/** A duration as a message shows it: the largest unit that divides it (3600 -> 1h, 90 -> 90s). */
function seconds(x: number): string {
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (x >= n && x % n === 0) return `${x / n}${unit}`;
  return `${x}s`;
}

const half = (x: number): number => (Number.isInteger(x) ? Math.floor(x / 2) : x / 2);

const DYNAMIC: TsConfig = { dynamic: true, ipProtocol: 0, startPort: 0, endPort: 0xffff, text: 'dynamic' };

export function buildConfig(raw: RawConfig, file: string, fail: Fail): IkelabConfig {
  const daemon = buildDaemon(raw, fail);
  const writtenRetransmit = raw.daemon?.retransmit ?? {};
  const connections = Object.entries(raw.connections ?? {}).map(([name, c]) => buildConnection(name, c, daemon, writtenRetransmit, fail));
  const secrets: SecretConfig[] = Object.entries(raw.secrets ?? {}).map(([name, s]) => {
    if (!name.startsWith('ike')) {
      fail(['secrets', name], {
        expected: 'a secret section named ike<suffix>, e.g. ike-bar (ikelab has IKE pre-shared keys only)',
        got: JSON.stringify(name),
      });
    }
    return { name, type: 'ike', ids: s!.ids.length ? s!.ids : ['%any'], secret: s!.secret };
  });
  // a rule for a connection that does not exist would silently reproduce nothing
  const names = connections.map((c) => c.name);
  (raw.faults ?? []).forEach((r, i) => {
    if (r.match.ike !== undefined && !names.includes(r.match.ike)) {
      fail(['faults', i, 'match', 'ike'], {
        expected: `a connection of this file (${names.join(', ') || 'none configured'})`,
        got: JSON.stringify(r.match.ike),
      });
    }
    if (r.match.layer === 'esp' && daemon.ipsecBackend !== 'userspace') {
      fail(['faults', i, 'action'], {
        expected: 'an IKE action: ESP rules need daemon.ipsec_backend: userspace',
        got: JSON.stringify(daemon.ipsecBackend),
        detail: 'only the userspace engine has ESP hook points',
      });
    }
  });
  return { file, daemon, connections, secrets, faults: raw.faults ?? [] };
}

function buildDaemon(raw: RawConfig, fail: Fail): DaemonConfig {
  type D = NonNullable<RawConfig['daemon']>;
  const d: Partial<D> = raw.daemon ?? {};
  const r: Partial<NonNullable<D['retransmit']>> = d.retransmit ?? {};
  const l: Partial<NonNullable<D['log']>> = d.log ?? {};
  const port = d.port ?? 500;
  const nattPort = d.natt_port ?? 4500;
  if (port === nattPort) {
    fail(['daemon', 'natt_port'], { expected: `a port different from daemon.port (${port})`, got: String(nattPort) });
  }
  return {
    listen: d.listen?.length ? d.listen : ['0.0.0.0'],
    port,
    nattPort,
    controlSocket: d.control_socket ?? join(tmpdir(), 'ikelab.sock'),
    ipsecBackend: d.ipsec_backend ?? 'userspace',
    keepAlive: d.keep_alive ?? 20,
    maxChildSas: d.max_child_sas ?? DEFAULT_MAX_CHILD_SAS,
    // charon 5.9's receiver.c defaults (COOKIE_THRESHOLD_DEFAULT, COOKIE_THRESHOLD_IP_DEFAULT, BLOCK_THRESHOLD_DEFAULT)
    cookieThreshold: d.cookie_threshold ?? 30,
    cookieThresholdIp: d.cookie_threshold_ip ?? 3,
    blockThreshold: d.block_threshold ?? 5,
    initLimitHalfOpen: d.init_limit_half_open ?? 0,
    receiveBuffer: d.receive_buffer ?? DEFAULT_RECEIVE_BUFFER,
    initQueueLimit: d.init_queue_limit ?? DEFAULT_INIT_QUEUE_LIMIT,
    // strongswan.conf charon.fragment_size default
    fragmentSize: d.fragment_size ?? 1280,
    ...(d.save_keys !== undefined && { saveKeys: existingDir(d.save_keys, fail) }),
    ...(d.pcap !== undefined && { pcap: inExistingDir('pcap', d.pcap, fail) }),
    retransmit: {
      timeout: r.timeout ?? 4.0,
      base: r.base ?? 1.8,
      tries: r.tries ?? 5,
      jitter: r.jitter ?? 0,
      limit: r.limit ?? 0,
    },
    log: {
      stdout: l.stdout ?? true,
      ...(l.file !== undefined && { file: inExistingDir('file', l.file, fail) }),
      ...(l.json !== undefined && { json: l.json }),
      ...(l.timeline !== undefined && { timeline: inExistingDir('timeline', l.timeline, fail) }),
      syslogPrefix: l.syslog_prefix ?? false,
      ...(l.hostname !== undefined && { hostname: l.hostname }),
      timeFormat: l.time_format ?? 'charon',
      levels: { default: 1, ...l.levels },
    },
  };
}

/**
 * daemon.log.file and .timeline are opened when the daemon starts; a directory that is not there is reported now,
 * with the key and line, rather than as a failed open later (for the text log file: a crash).
 */
function inExistingDir(key: 'file' | 'timeline' | 'pcap', path: string, fail: Fail): string {
  const dir = dirname(resolve(path));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // missing or unreadable: reported below
  }
  const at = key === 'pcap' ? ['daemon', key] : ['daemon', 'log', key];
  if (!isDir) fail(at, { expected: 'a file path in an existing directory', got: path, detail: `no directory ${dir}` });
  return path;
}

/** daemon.save_keys: the tables are appended to from the first IKE_SA on; a missing directory is reported now. */
function existingDir(path: string, fail: Fail): string {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // missing or unreadable: reported below
  }
  if (!isDir) fail(['daemon', 'save_keys'], { expected: 'an existing directory', got: path });
  return path;
}

type WrittenRetransmit = Partial<NonNullable<NonNullable<RawConfig['daemon']>['retransmit']>>;

function buildConnection(name: string, c: RawConnection, daemon: DaemonConfig, rt: WrittenRetransmit, fail: Fail): ConnectionConfig {
  const at = (...p: (string | number)[]) => ['connections', name, ...p];
  // a profile fills in only what the connection leaves out; its over/rand times go with its own rekey_time only
  const profile = profileDefaults(c.profile);
  const ikeLife = c.rekey_time === undefined && c.reauth_time === undefined ? profile.ikeLifetime : undefined;
  const localAddrs = c.local_addrs?.length ? c.local_addrs : ['%any'];
  const wildcard = daemon.listen.some((a) => a === '0.0.0.0' || a === '::');
  localAddrs.forEach((addr, i) => {
    if (!wildcard && isIP(addr) && !daemon.listen.includes(addr)) {
      fail(at('local_addrs', i), {
        expected: `an address ikelab listens on (daemon.listen: ${daemon.listen.join(', ')})`,
        got: JSON.stringify(addr),
      });
    }
  });

  // IKE lifetimes exactly as vici_config.c derives them
  let rekeyTime = c.rekey_time ?? ikeLife?.rekeyTime;
  let reauthTime = c.reauth_time;
  if (rekeyTime === undefined && reauthTime === undefined) {
    rekeyTime = IKE_REKEY_DEFAULT;
    reauthTime = 0;
  }
  rekeyTime ??= 0;
  reauthTime ??= 0;
  const overTime = c.over_time ?? ikeLife?.hardEnd ?? percent(Math.max(rekeyTime, reauthTime), 10);
  const randBase = rekeyTime && reauthTime ? Math.min(rekeyTime, reauthTime) : Math.max(rekeyTime, reauthTime);
  const randTime = c.rand_time ?? Math.min(overTime, half(randBase));
  const dpdAction: DpdAction = c.dpd_action ?? 'clear';
  // only proposals ikelab can run (proposal-support.ts): written ones are refused, defaults filtered
  const ike =
    !c.proposals && profile.proposals
      ? profileProposals(profile.proposals, 'ike', daemon.ipsecBackend)
      : runnableProposals(c.proposals, 'ike', daemon.ipsecBackend, (p, info) => fail(at('proposals', ...p), info));
  const dpdDelay = c.dpd_delay ?? profile.dpdDelay ?? 0;

  const firstLocal = localAddrs[0]!; // never empty: defaults to ['%any']
  const children = Object.entries(c.children ?? {}).map(([childName, ch]) =>
    buildChild(childName, ch, dpdAction, (p, info) => fail(at('children', childName, ...p), info), daemon.ipsecBackend, profile),
  );
  const profileRt = profile.retransmit?.(dpdDelay);

  return {
    name,
    ...(c.profile && { profile: c.profile }),
    ...(profileRt && { retransmit: writtenOver(rt, profileRt) }),
    localAddrs,
    remoteAddrs: c.remote_addrs,
    localPort: c.local_port ?? daemon.port,
    remotePort: c.remote_port ?? 500,
    version: 2,
    proposals: ike.proposals,
    proposalTexts: ike.texts,
    dpdDelay,
    dpdTimeout: c.dpd_timeout ?? 0,
    dpdAction,
    rekeyTime,
    reauthTime,
    overTime,
    randTime,
    encap: c.encap ?? false,
    mobike: c.mobike ?? profile.mobike ?? true,
    fragmentation: c.fragmentation ?? profile.fragmentation ?? 'yes',
    keyingtries: c.keyingtries ?? 1,
    unique: c.unique ?? 'no',
    sendCertreq: c.send_certreq ?? true,
    local: { auth: 'psk', id: c.local?.id ?? (isIP(firstLocal) ? firstLocal : '%any') },
    remote: { auth: 'psk', id: c.remote?.id ?? '%any' },
    children,
  };
}

/** daemon.retransmit keys written in the file win over a profile's timing. */
function writtenOver(written: WrittenRetransmit, profile: RetransmitConfig): RetransmitConfig {
  return {
    timeout: written.timeout ?? profile.timeout,
    base: written.base ?? profile.base,
    tries: written.tries ?? profile.tries,
    jitter: written.jitter ?? profile.jitter,
    limit: written.limit ?? profile.limit,
  };
}

function buildChild(
  name: string,
  ch: RawChild,
  dpdAction: DpdAction,
  fail: Fail,
  backend: DaemonConfig['ipsecBackend'],
  profile: ProfileDefaults,
): ChildConfig {
  const life = ch.rekey_time === undefined ? profile.childLifetime : undefined;
  const rekeyTime = ch.rekey_time ?? life?.rekeyTime ?? CHILD_REKEY_DEFAULT;
  // check_lifetimes(): hard lifetime at rekey + 10%, jitter = life - rekey
  const lifeTime = ch.life_time ?? life?.hardEnd ?? percent(rekeyTime, 110);
  // swanctl: life_time is the hard end, rekey_time the point the replacement is negotiated; a hard end before the
  // rekey point would tear the CHILD_SA down before it is ever rekeyed (0 on either side: that limit is off)
  if (ch.life_time !== undefined && lifeTime > 0 && rekeyTime > 0 && lifeTime < rekeyTime) {
    fail(['life_time'], {
      expected: `a life_time of at least rekey_time (${seconds(rekeyTime)})`,
      got: seconds(lifeTime),
      detail: 'the CHILD_SA would expire before it is rekeyed; omit life_time for rekey_time + 10%',
    });
  }
  const randTime = ch.rand_time ?? lifeTime - Math.min(lifeTime, rekeyTime);
  const localTs = ch.local_ts?.length ? ch.local_ts : [DYNAMIC];
  const hostAddrs = ch.host_addrs ?? [];
  hostAddrs.forEach((addr, i) => {
    if (!localTs.some((ts) => tsContains(ts, addr))) {
      fail(['host_addrs', i], {
        expected: `an address inside local_ts (${localTs.map((t) => t.text).join(', ')})`,
        got: JSON.stringify(addr),
      });
    }
  });
  const esp =
    !ch.esp_proposals && profile.espProposals
      ? profileProposals(profile.espProposals, 'esp', backend)
      : runnableProposals(ch.esp_proposals, 'esp', backend, (p, info) => fail(['esp_proposals', ...p], info));
  return {
    name,
    localTs,
    remoteTs: ch.remote_ts?.length ? ch.remote_ts : [DYNAMIC],
    espProposals: esp.proposals,
    espProposalTexts: esp.texts,
    mode: ch.mode ?? 'tunnel',
    rekeyTime,
    lifeTime,
    randTime,
    startAction: ch.start_action ?? 'none',
    closeAction: ch.close_action ?? 'none',
    dpdAction: ch.dpd_action ?? dpdAction,
    replayWindow: ch.replay_window ?? profile.replayWindow ?? 32,
    ipcomp: false,
    hostAddrs,
  };
}

function tsContains(ts: TsConfig, addr: string): boolean {
  const a = parseIp(addr);
  if (ts.dynamic || !a || a.length !== ts.startAddr.length) return false;
  return Buffer.compare(a, ts.startAddr) >= 0 && Buffer.compare(a, ts.endAddr) <= 0;
}
