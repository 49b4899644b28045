// The parts of scripts/bench-esp.ts beyond the engine alone: the transforms, the bare node:crypto calls a packet
// needs, and the round trip through UserspaceBackend in-process (--path) and over loopback UDP (--udp, the peer
// in a child process so that only the daemon side's CPU is counted). Not a test.
import { fork } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { encrInfo } from '../src/crypto/encr.js';
import { zeroCounters, type ChildSaSpec } from '../src/ipsec/backend.js';
import { EspInbound, EspOutbound, type EspSaParams } from '../src/ipsec/esp-sa.js';
import { buildUdp, ipBytes } from '../src/ipsec/packets.js';
import { UserspaceBackend } from '../src/ipsec/userspace-backend.js';
import { Logger } from '../src/log/logger.js';
import type { Endpoint } from '../src/net/endpoint.js';
import { UdpTransport } from '../src/net/udp-transport.js';
import { Encr, Integ } from '../src/wire/constants.js';
import type { TrafficSelector } from '../src/wire/types.js';

export interface Suite {
  name: string;
  encr: number;
  bits?: number;
  integ?: number;
  encLen: number;
  intLen: number;
}

export const SUITES: Suite[] = [
  { name: 'aes128-sha1', encr: Encr.AES_CBC, bits: 128, integ: Integ.HMAC_SHA1_96, encLen: 16, intLen: 20 },
  { name: 'aes256-sha1', encr: Encr.AES_CBC, bits: 256, integ: Integ.HMAC_SHA1_96, encLen: 32, intLen: 20 },
  { name: 'aes128-sha256', encr: Encr.AES_CBC, bits: 128, integ: Integ.HMAC_SHA2_256_128, encLen: 16, intLen: 32 },
  { name: 'aes256-sha256', encr: Encr.AES_CBC, bits: 256, integ: Integ.HMAC_SHA2_256_128, encLen: 32, intLen: 32 },
  { name: 'aes256-sha384', encr: Encr.AES_CBC, bits: 256, integ: Integ.HMAC_SHA2_384_192, encLen: 32, intLen: 48 },
  { name: 'aes256-sha512', encr: Encr.AES_CBC, bits: 256, integ: Integ.HMAC_SHA2_512_256, encLen: 32, intLen: 64 },
  { name: '3des-sha1', encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96, encLen: 24, intLen: 20 },
  { name: 'aes128gcm16', encr: Encr.AES_GCM_16, bits: 128, encLen: 20, intLen: 0 },
  { name: 'aes256gcm16', encr: Encr.AES_GCM_16, bits: 256, encLen: 36, intLen: 0 },
  { name: 'chacha20poly1305', encr: Encr.CHACHA20_POLY1305, encLen: 36, intLen: 0 },
];

const HASH: Record<number, [string, number]> = {
  [Integ.HMAC_SHA1_96]: ['sha1', 12],
  [Integ.HMAC_SHA2_256_128]: ['sha256', 16],
  [Integ.HMAC_SHA2_384_192]: ['sha384', 24],
  [Integ.HMAC_SHA2_512_256]: ['sha512', 32],
};

/** CPU microseconds of this process so far, every thread (GC helpers, libuv's pool) included. */
export const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The node:crypto calls one seal plus one open of a `size`-byte inner packet cannot do without, on fixed inputs:
 * AEAD: a cipher context per packet (node:crypto takes the nonce only at creation), AAD, one update, tag; CBC: one
 * update on a long-lived context and one HMAC per direction. What the engine spends beyond this is its own.
 */
export function bareCalls(s: Suite, size: number): () => void {
  const info = encrInfo(s.encr, s.bits ?? (s.encr === Encr['3DES'] ? 192 : 256));
  const key = randomBytes(info.keyBytes);
  const align = Math.max(4, info.aead ? 4 : info.blockBytes);
  const ptLen = Math.ceil((size + 2) / align) * align;
  const pt = randomBytes(ptLen + info.blockBytes);
  if (info.aead) {
    const nonce = randomBytes(12);
    const aad = randomBytes(8);
    const o = { authTagLength: info.tagBytes } as const;
    const c0 = createCipheriv(info.cipher as 'aes-128-gcm', key, nonce, o);
    c0.setAAD(aad);
    const ct = c0.update(pt.subarray(0, ptLen));
    c0.final();
    const tag = c0.getAuthTag();
    return () => {
      const c = createCipheriv(info.cipher as 'aes-128-gcm', key, nonce, o);
      c.setAAD(aad);
      c.update(pt.subarray(0, ptLen));
      c.final();
      c.getAuthTag();
      const d = createDecipheriv(info.cipher as 'aes-128-gcm', key, nonce, o);
      d.setAAD(aad);
      d.setAuthTag(tag);
      d.update(ct);
      d.final();
    };
  }
  const [hash] = HASH[s.integ!]!;
  const ikey = randomBytes(s.intLen);
  const enc = createCipheriv(info.cipher, key, Buffer.alloc(info.blockBytes)).setAutoPadding(false);
  const dec = createDecipheriv(info.cipher, key, Buffer.alloc(info.blockBytes)).setAutoPadding(false);
  const packet = randomBytes(8 + info.blockBytes + ptLen + 32);
  const body = packet.subarray(0, 8 + info.blockBytes + ptLen);
  return () => {
    enc.update(pt); // random block (the IV) + plaintext
    createHmac(hash, ikey).update(body).digest();
    createHmac(hash, ikey).update(body).digest();
    dec.update(body.subarray(8));
  };
}

// --------------------------------------------------------------------------------------------- round trips

const net = (a: string, b: string): TrafficSelector => ({
  tsType: 7,
  ipProtocol: 0,
  startPort: 0,
  endPort: 0xffff,
  startAddr: ipBytes(a),
  endAddr: ipBytes(b),
});
const DAEMON_NET = net('10.12.0.0', '10.12.0.255');
const PEER_NET = net('10.11.0.0', '10.11.0.255');
const HOST = '10.12.0.7';
const PEER_SRC = '10.11.0.1';

interface Keys {
  spiIn: string;
  spiOut: string;
  encrIn: string;
  integIn: string;
  encrOut: string;
  integOut: string;
}

function keysFor(s: Suite): Keys {
  const hex = (n: number) => randomBytes(n).toString('hex');
  return { spiIn: hex(4), spiOut: hex(4), encrIn: hex(s.encLen), integIn: hex(s.intLen), encrOut: hex(s.encLen), integOut: hex(s.intLen) };
}

/** The daemon side's CHILD_SA: answers UDP echo on HOST for the peer's 10.11.0.0/24. */
function daemonSpec(s: Suite, k: Keys, local: Endpoint, remote: Endpoint): ChildSaSpec {
  const b = (h: string) => Buffer.from(h, 'hex');
  return {
    id: 1,
    reqid: 1,
    name: 'net',
    connection: 'bench',
    spiIn: b(k.spiIn),
    spiOut: b(k.spiOut),
    suite: { encr: s.encr, encrKeyBits: s.bits, integ: s.integ, esn: false },
    keys: { encrIn: b(k.encrIn), integIn: b(k.integIn), encrOut: b(k.encrOut), integOut: b(k.integOut) },
    dhGroup: 0,
    localTs: [DAEMON_NET],
    remoteTs: [PEER_NET],
    local,
    remote,
    encap: true,
    outboundActive: true,
    replayWindow: 1024,
    hostAddrs: [HOST],
    counters: zeroCounters(),
  };
}

/** The peer's two directions: it sends with the daemon's inbound keys and receives with its outbound ones. */
function peerSas(s: Suite, k: Keys): { out: EspOutbound; in: EspInbound } {
  const b = (h: string) => Buffer.from(h, 'hex');
  const common = { encr: s.encr, encrKeyBits: s.bits, integ: s.integ, esn: false, replayWindow: 1024 };
  const out: EspSaParams = { ...common, spi: b(k.spiIn), encKey: b(k.encrIn), integKey: b(k.integIn) };
  const inb: EspSaParams = { ...common, spi: b(k.spiOut), encKey: b(k.encrOut), integKey: b(k.integOut) };
  return { out: new EspOutbound(out), in: new EspInbound(inb) };
}

/** A UDP echo request (port 7) of `size` IP bytes from the peer's side to the daemon's virtual host. */
const echoRequest = (size: number) =>
  buildUdp(ipBytes(PEER_SRC), ipBytes(HOST), { srcPort: 40000, dstPort: 7, data: Buffer.alloc(size - 28, 0x5a) });

export interface RttResult {
  /** CPU us of the daemon side per echoed round trip (one open + one seal + what lies around them). */
  rtt: number;
  /** Bare crypto of one seal + one open, same run. */
  bare: number;
  rate: number;
  lost: number;
  /** --udp: the part of rtt spent in the kernel (system time: syscalls, the loopback network stack). */
  kernel?: number;
}

/** --path: UserspaceBackend.receive of sealed echo requests, answered and sealed into a sink; no sockets. */
export function pathBench(s: Suite, size: number, batch: number, rounds: number): RttResult {
  const k = keysFor(s);
  const local = { address: '127.0.0.1', port: 4500 };
  const remote = { address: '127.0.0.2', port: 4500 };
  let replies = 0;
  let last: Buffer | undefined;
  const daemon = new UserspaceBackend(
    {
      sendEsp: (p) => {
        replies++;
        last = p;
      },
    },
    new Logger({ default: -1 }),
    { nattPort: () => 4500 },
  );
  daemon.install(daemonSpec(s, k, local, remote));
  const peer = peerSas(s, k);
  const req = echoRequest(size);
  const bare = bareCalls(s, size);
  const n = Math.max(1, Math.floor(batch / rounds));
  const sealed: Buffer[] = new Array(n);
  const rtt: number[] = [];
  const bareUs: number[] = [];
  for (let r = -1; r < rounds; r++) {
    for (let i = 0; i < n; i++) sealed[i] = peer.out.seal(req, 4);
    const before = replies;
    let t = cpuUs();
    for (let i = 0; i < n; i++) daemon.receive(sealed[i]!, local, remote);
    const us = (cpuUs() - t) / n;
    if (replies - before !== n || !last || !peer.in.open(last).ok) throw new Error(`${s.name}: the echo did not come back`);
    t = cpuUs();
    for (let i = 0; i < n; i++) bare();
    if (r < 0) continue; // the first round warms up
    bareUs.push((cpuUs() - t) / n);
    rtt.push(us);
  }
  return { rtt: median(rtt), bare: median(bareUs), rate: 1e6 / median(rtt), lost: 0 };
}

interface PeerArgs {
  suite: string;
  keys: Keys;
  size: number;
  window: number;
  daemon: Endpoint;
}

type PeerMsg = { port: number } | { start: true } | { stop: true; echoes: number; lost: number };

/**
 * --udp: the daemon side is a UdpTransport + UserspaceBackend on 127.0.0.1 as in `ikelab start`; the peer, a child
 * process, keeps `window` sealed echo requests in flight. Per round the peer runs `seconds / rounds` measured
 * (after a short warm-up) and reports the echoes; the daemon side's CPU over that interval / echoes = us per rtt.
 */
export async function udpBench(s: Suite, size: number, seconds: number, window: number, rounds: number): Promise<RttResult> {
  const k = keysFor(s);
  const log = new Logger({ default: -1 });
  let transport: UdpTransport | undefined;
  const daemon = new UserspaceBackend({ sendEsp: (p, from, to) => transport!.sendEsp(p, from, to) }, log, { nattPort: () => natt });
  let port = 0;
  let natt = 0;
  for (let attempt = 0; ; attempt++) {
    port = randomInt(20000, 60000);
    natt = port + 1;
    const t = new UdpTransport(
      { listen: ['127.0.0.1'], port, nattPort: natt },
      { ike: () => {}, esp: (p, l, r) => daemon.receive(p, l, r) },
    );
    try {
      await t.start();
      transport = t;
      break;
    } catch (e) {
      await t.close();
      if (attempt > 20) throw e;
    }
  }
  const local = { address: '127.0.0.1', port: natt };
  const args: PeerArgs = { suite: s.name, keys: k, size, window, daemon: local };
  const child = fork(process.argv[1]!, ['--udp-peer', JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: PeerMsg[] = [];
  let wake: (() => void) | undefined;
  let exited: number | null | undefined;
  child.on('message', (m) => {
    inbox.push(m as PeerMsg);
    wake?.();
  });
  child.on('exit', (c) => {
    exited = c;
    wake?.();
  });
  const next = async (): Promise<PeerMsg> => {
    while (!inbox.length) {
      if (exited !== undefined) throw new Error(`udp peer exited (${exited})`);
      await new Promise<void>((r) => (wake = r));
    }
    return inbox.shift()!;
  };
  try {
    const hello = await next();
    if (!('port' in hello)) throw new Error('udp peer: no port');
    daemon.install(daemonSpec(s, k, local, { address: '127.0.0.1', port: hello.port }));
    const bare = bareCalls(s, size);
    const rtt: number[] = [];
    const kernel: number[] = [];
    const bareUs: number[] = [];
    let echoes = 0;
    let lost = 0;
    const ms = (seconds * 1000) / rounds;
    for (let r = -1; r < rounds; r++) {
      child.send({ run: r < 0 ? 500 : ms });
      if (!('start' in (await next()))) throw new Error('udp peer: expected start');
      const t0 = process.cpuUsage();
      const stop = await next();
      const d = process.cpuUsage(t0);
      const used = d.user + d.system;
      if (!('stop' in stop) || stop.echoes === 0) throw new Error('udp peer: no echo came back');
      const n = 20000;
      const t = cpuUs();
      for (let i = 0; i < n; i++) bare();
      if (r < 0) continue; // warm-up round
      bareUs.push((cpuUs() - t) / n);
      rtt.push(used / stop.echoes);
      kernel.push(d.system / stop.echoes);
      echoes += stop.echoes;
      lost += stop.lost;
    }
    return { rtt: median(rtt), bare: median(bareUs), rate: echoes / seconds, lost, kernel: median(kernel) };
  } finally {
    child.kill();
    await transport?.close();
  }
}

/** The child process of --udp: seals requests with the daemon's inbound keys, opens the echoes, counts them. */
export function udpPeer(a: PeerArgs): void {
  const s = SUITES.find((x) => x.name === a.suite)!;
  const sa = peerSas(s, a.keys);
  const req = echoRequest(a.size);
  const sock = dgram.createSocket('udp4');
  let running = false;
  let measuring = false;
  let inflight = 0;
  let echoes = 0;
  let lost = 0;
  let lastReply = performance.now();
  const send = () => {
    inflight++;
    sock.send(sa.out.seal(req, 4), a.daemon.port, a.daemon.address);
  };
  sock.on('message', (m) => {
    if (!sa.in.open(m).ok) return;
    inflight--;
    lastReply = performance.now();
    if (measuring) echoes++;
    if (running) send();
  });
  // a window lost at once (queues overflowed) would stall the loop: count it and start again
  const sweep = setInterval(() => {
    if (running && inflight > 0 && performance.now() - lastReply > 300) {
      lost += inflight;
      inflight = 0;
      lastReply = performance.now();
      for (let i = 0; i < a.window; i++) send();
    }
  }, 100);
  process.on('message', (m: { run: number }) => {
    running = true;
    lastReply = performance.now();
    for (let i = inflight; i < a.window; i++) send();
    setTimeout(() => {
      echoes = 0;
      lost = 0;
      measuring = true;
      process.send!({ start: true });
      setTimeout(() => {
        measuring = false;
        running = false;
        process.send!({ stop: true, echoes, lost });
      }, m.run);
    }, 200);
  });
  process.on('disconnect', () => {
    clearInterval(sweep);
    sock.close();
  });
  sock.bind(0, '127.0.0.1', () => process.send!({ port: sock.address().port }));
}
