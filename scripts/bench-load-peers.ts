// The daemons of bench-load.ts and their configurations: four responders (charon + kernel-libipsec, ikelab with
// the userspace backend, charon IKE only, ikelab IKE only) and two load sources (strongSwan's load-tester plugin,
// ikelab's `initiate --count`). All use PSK, one identity per initiated SA (c<n>.strongswan.org) and the same
// proposals, so the responders do the same work.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADDR, type Proc, type Rig, sleep, tailOf } from './bench-load-lab.js';

export const PSK = 'bench-load-secret';
export const RESPONDER_ID = 'srv.strongswan.org';
export const ID_PATTERN = 'c%d.strongswan.org';

export interface Tools {
  /** Debian's (or IKELAB_CHARON's) charon, run with kernel-libipsec */
  charon: string;
  swanctl: string;
  /** the prefix strongSwan 5.9.8 was installed to with --enable-load-tester */
  ltPrefix: string;
  node: string;
  ikelabCli: string;
}

export const ltCharon = (t: Tools): string => path.join(t.ltPrefix, 'libexec', 'ipsec', 'charon');
export const ltSwanctl = (t: Tools): string => path.join(t.ltPrefix, 'sbin', 'swanctl');
export const ltPlugin = (t: Tools): string => path.join(t.ltPrefix, 'lib', 'ipsec', 'plugins', 'libstrongswan-load-tester.so');

export type ResponderKey = 'a' | 'b' | 'c' | 'd';
export const RESPONDERS: Record<ResponderKey, { label: string; kind: 'charon' | 'ikelab' }> = {
  a: { label: 'charon + kernel-libipsec', kind: 'charon' },
  b: { label: 'ikelab userspace', kind: 'ikelab' },
  c: { label: 'charon IKE only', kind: 'charon' },
  d: { label: 'ikelab IKE only (ipsec_backend: none)', kind: 'ikelab' },
};

export interface Proposals {
  ike: string;
  esp: string;
}

/** A headend set up for a load test, as in bench-scale: a hashed IKE_SA table (charon's default is one bucket). */
const CHARON_TABLE = ['ikesa_table_size = 32768', 'ikesa_table_segments = 16'];
/**
 * No COOKIE or per-IP blocking (every SA comes from one address). Without this (--dos-defaults) a responder that
 * falls behind answers with COOKIEs, which is another benchmark.
 */
const CHARON_DOS_OFF = ['dos_protection = no', 'cookie_threshold = 1000000', 'block_threshold = 1000000', 'init_limit_half_open = 0'];
/** The same for ikelab, whose DoS defaults are like charon's (COOKIEs above 30 half-open, blocking above 5 per address). */
const IKELAB_DOS_OFF = ['cookie_threshold: 0', 'cookie_threshold_ip: 0', 'block_threshold: 0', 'init_limit_half_open: 0']
  .map((l) => `  ${l}\n`)
  .join('');

/** kernel-libipsec before kernel-netlink: this kernel has no XFRM ESP (as test/fixtures/LAB.md). */
const LOAD_LIBIPSEC =
  'random nonce openssl pem pkcs1 x509 revocation constraints pubkey kdf aes sha1 sha2 hmac gcm curve25519 chapoly ' +
  'ctr ccm cmac kernel-libipsec kernel-netlink socket-default vici updown';
/** The prefix build: load-tester first, so its fake kernel-ipsec is the one registered (no SA is installed anywhere). */
const LOAD_FAKE_KERNEL =
  'load-tester random nonce openssl pem pkcs1 x509 pubkey kdf aes sha1 sha2 hmac gcm curve25519 kernel-netlink socket-default';

function strongswanConf(o: { load: string; logPath: string; logLevel: number; dosOff: boolean; extra: string[] }): string {
  return [
    'charon {',
    `  load = ${o.load}`,
    ...[...CHARON_TABLE, ...(o.dosOff ? CHARON_DOS_OFF : [])].map((l) => `  ${l}`),
    '  filelog {',
    `    bench { path = ${o.logPath}`,
    `            default = ${o.logLevel}`,
    '            flush_line = yes',
    '            time_format = %b %e %T }',
    '  }',
    ...o.extra.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
}

function swanctlConf(p: Proposals): string {
  return `connections {
  lt {
    local_addrs = ${ADDR.r}
    version = 2
    proposals = ${p.ike}
    unique = never
    local { auth = psk
            id = ${RESPONDER_ID} }
    remote { auth = psk }
    children { net { local_ts = ${ADDR.rNet}
                     remote_ts = ${ADDR.iNet}
                     esp_proposals = ${p.esp}
                     start_action = none } }
  }
}
secrets { ike-lt { secret = "${PSK}" } }
`;
}

function ikelabConf(o: {
  side: 'responder' | 'initiator';
  backend: 'userspace' | 'none';
  sock: string;
  logLevel: number;
  dosOff: boolean;
  p: Proposals;
}): string {
  const r = o.side === 'responder';
  const child = `    children:
      net:
        local_ts: [${r ? ADDR.rNet : ADDR.iNet}]
        remote_ts: [${r ? ADDR.iNet : ADDR.rNet}]
        esp_proposals: [${o.p.esp}]
        start_action: none
`;
  return `daemon:
  listen: [${r ? ADDR.r : ADDR.i}]
  port: 500
  natt_port: 4500
  control_socket: ${o.sock}
  ipsec_backend: ${o.backend}
${o.dosOff ? IKELAB_DOS_OFF : ''}  log: { stdout: true, levels: { default: ${o.logLevel} } }
connections:
  lt:
    local_addrs: [${r ? ADDR.r : ADDR.i}]
    remote_addrs: [${r ? "'%any'" : ADDR.r}]
    version: 2
    proposals: [${o.p.ike}]
    unique: never
    local: { auth: psk, id: ${r ? RESPONDER_ID : ID_PATTERN.replace('%d', '0')} }
    remote: { auth: psk${r ? '' : `, id: ${RESPONDER_ID}`} }
${child}secrets:
  ike-lt:
    secret: ${PSK}
`;
}

async function waitForSocket(file: string, p: Proc, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (!p.running) return false;
    try {
      if (fs.statSync(file).isSocket()) return true;
    } catch {
      /* not yet */
    }
    await sleep(20);
  }
  return false;
}

/** A daemon under test: its process, the log its established lines go to. */
export interface Daemon {
  proc: Proc;
  logPath: string;
}

/** Start responder key in namespace r and wait until it takes connections. */
export async function startResponder(
  rig: Rig,
  t: Tools,
  key: ResponderKey,
  o: { p: Proposals; logLevel: number; dosOff: boolean; n: number },
): Promise<Daemon> {
  const { p, logLevel, dosOff, n } = o;
  const base = rig.path(`${key}-${n}`);
  const logPath = `${base}.log`;
  if (RESPONDERS[key].kind === 'ikelab') {
    const sock = `${base}.sock`;
    const conf = `${base}.yaml`;
    fs.writeFileSync(conf, ikelabConf({ side: 'responder', backend: key === 'b' ? 'userspace' : 'none', sock, logLevel, dosOff, p }));
    const proc = rig.spawn(`ikelab responder (${key})`, 'r', [t.node, t.ikelabCli, 'start', '--config', conf], logPath);
    if (!(await waitForSocket(sock, proc, 15_000))) {
      await proc.stop(2000);
      throw new Error(`ikelab responder did not start: ${tailOf(logPath)}`);
    }
    return { proc, logPath };
  }
  const vici = `${base}.vici`;
  const confPath = `${base}.strongswan.conf`;
  const fake = key === 'c';
  // the fake kernel comes with the plugin's own responder config; bound to an address nobody uses, it never matches
  const ltResponder = [
    'load-tester {',
    '  enable = yes',
    '  initiators = 0',
    '  fake_kernel = yes',
    '  responder = 127.0.0.2',
    `  preshared_key = ${PSK}`,
  ];
  const plugins = ['plugins {', `  vici { socket = unix://${vici} }`, ...(fake ? [...ltResponder.map((l) => `  ${l}`), '  }'] : []), '}'];
  fs.writeFileSync(
    confPath,
    strongswanConf({ load: fake ? `${LOAD_FAKE_KERNEL} vici` : LOAD_LIBIPSEC, logPath, logLevel, dosOff, extra: plugins }),
  );
  const env = { ...process.env, STRONGSWAN_CONF: confPath };
  const bin = fake ? ltCharon(t) : t.charon;
  const proc = rig.spawn(`charon responder (${key})`, 'r', [bin], `${base}.stdout`, { env, privateRun: true });
  if (!(await waitForSocket(vici, proc, 15_000))) {
    await proc.stop(2000);
    throw new Error(`charon responder (${key}) did not start: ${tailOf(logPath)} ${tailOf(`${base}.stdout`)}`);
  }
  const swanctlPath = `${base}.swanctl.conf`;
  fs.writeFileSync(swanctlPath, swanctlConf(p));
  const swanctl = fake ? ltSwanctl(t) : t.swanctl;
  const r = spawnSync(swanctl, ['--load-all', '--noprompt', '--file', swanctlPath, '--uri', `unix://${vici}`], {
    env,
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.status !== 0) {
    await proc.stop(2000);
    throw new Error(`swanctl --load-all (${key}) failed: ${r.stdout}${r.stderr}`);
  }
  return { proc, logPath };
}

/**
 * strongSwan's load-tester as initiator in namespace i: one thread initiating `count` IKE_SAs (each with its
 * CHILD_SA), `delayMs` apart (0: all at once), identities c<n>.strongswan.org, the fake kernel (it installs
 * nothing). It starts initiating as soon as charon is up.
 */
export function startLoadTester(
  rig: Rig,
  t: Tools,
  o: { count: number; delayMs: number; p: Proposals; logLevel: number; n: string },
): Daemon {
  const base = rig.path(`lt-${o.n}`);
  const logPath = `${base}.log`;
  const confPath = `${base}.strongswan.conf`;
  const lt = [
    'enable = yes',
    'initiators = 1',
    `iterations = ${o.count}`,
    `delay = ${o.delayMs}`,
    `initiator = ${ADDR.i}`,
    `responder = ${ADDR.r}`,
    `proposal = ${o.p.ike}`,
    `esp = ${o.p.esp}`,
    'initiator_auth = psk',
    'responder_auth = psk',
    `preshared_key = ${PSK}`,
    `initiator_id = ${ID_PATTERN}`,
    `responder_id = ${RESPONDER_ID}`,
    `initiator_tsi = ${ADDR.iNet}`,
    `initiator_tsr = ${ADDR.rNet}`,
    'fake_kernel = yes',
    'version = 2',
    // no rekey or DPD while a run goes (the plugin's CHILD_SA default is 600 s)
    'child_rekey = 86400',
    'ike_rekey = 0',
    'dpd_delay = 0',
  ];
  fs.writeFileSync(
    confPath,
    strongswanConf({
      load: LOAD_FAKE_KERNEL,
      logPath,
      logLevel: o.logLevel,
      dosOff: false,
      extra: ['plugins {', '  load-tester {', ...lt.map((l) => `    ${l}`), '  }', '}'],
    }),
  );
  const env = { ...process.env, STRONGSWAN_CONF: confPath };
  const proc = rig.spawn('load-tester', 'i', [ltCharon(t)], `${base}.stdout`, { env, privateRun: true });
  return { proc, logPath };
}

/** An ikelab initiator daemon (ipsec_backend none) in namespace i, ready for `initiate --count`. */
export async function startIkelabInitiator(
  rig: Rig,
  t: Tools,
  o: { p: Proposals; logLevel: number; n: string },
): Promise<Daemon & { sock: string; conf: string }> {
  const base = rig.path(`ii-${o.n}`);
  const sock = `${base}.sock`;
  const conf = `${base}.yaml`;
  const logPath = `${base}.log`;
  fs.writeFileSync(conf, ikelabConf({ side: 'initiator', backend: 'none', sock, logLevel: o.logLevel, dosOff: false, p: o.p }));
  const proc = rig.spawn('ikelab initiator', 'i', [t.node, t.ikelabCli, 'start', '--config', conf], logPath);
  if (!(await waitForSocket(sock, proc, 15_000))) {
    await proc.stop(2000);
    throw new Error(`ikelab initiator did not start: ${tailOf(logPath)}`);
  }
  return { proc, logPath, sock, conf };
}

/** `ikelab initiate --ike lt --count N --rate R --id-pattern ... --max-half-open 0 --json` against that initiator; its summary file. */
export function runIkelabLoad(
  rig: Rig,
  t: Tools,
  init: { sock: string },
  o: { count: number; rate: number; n: string },
): { proc: Proc; out: string } {
  const out = rig.path(`ii-${o.n}.summary`);
  // --max-half-open 0: the responders block no address (DoS limits off), and the CLI's default of 4 IKE_SAs in
  // flight capped a responder at 4 / setup latency (~30/s against ikelab) instead of --rate
  const args = ['initiate', '--ike', 'lt', '--count', String(o.count), '--id-pattern', ID_PATTERN, '--json', '--quiet'];
  args.push('--max-half-open', '0');
  if (o.rate > 0) args.push('--rate', String(o.rate));
  args.push('--timeout', '0', '--socket', init.sock);
  const proc = rig.spawn('ikelab initiate --count', 'i', [t.node, t.ikelabCli, ...args], out);
  return { proc, out };
}
