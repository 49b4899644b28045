// Floods an IKE responder with well-formed IKE_SA_INIT requests (chacha20poly1305-prfsha256-curve25519, random
// SPIi, nonce and KE data) from one source address and changing random source ports, at a bounded rate for a bounded time; run
// inside the test's own namespace. Counts the answers, and the COOKIE answers among them.
// usage: node flood-sender.mjs HOST SRC COUNT RATE MAX_SECONDS  -> prints {"sent":..,"answers":..,"cookies":..,"ms":..}
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [host, src, countArg, rateArg, maxArg] = process.argv.slice(2);
const COUNT = Number(countArg ?? 20000);
const RATE = Number(rateArg ?? 4000);
const MAX_MS = Number(maxArg ?? 15) * 1000;
const TICK_MS = 10;
const SOCKETS = 32;
const PER_SOCKET = 100; // then a new socket: a new random source port

function transform(last, type, id, keyBits) {
  const attr = keyBits ? Buffer.from([0x80, 14, keyBits >> 8, keyBits & 0xff]) : Buffer.alloc(0);
  const t = Buffer.alloc(8);
  t[0] = last ? 0 : 3;
  t.writeUInt16BE(8 + attr.length, 2);
  t[4] = type;
  t.writeUInt16BE(id, 6);
  return Buffer.concat([t, attr]);
}
// ENCR_CHACHA20_POLY1305, PRF_HMAC_SHA2_256, CURVE_25519 (no MODP/ECP: Debian's charon has those only with the
// openssl plugin, which the lab may lack)
const transforms = Buffer.concat([transform(false, 1, 28), transform(false, 2, 5), transform(true, 4, 31)]);
const proposal = Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 1, 0, 3]), transforms]);
proposal.writeUInt16BE(proposal.length, 2);

function payload(next, body) {
  const h = Buffer.from([next, 0, 0, 0]);
  h.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([h, body]);
}

function initRequest() {
  const ke = Buffer.concat([Buffer.from([0, 31, 0, 0]), randomBytes(32)]);
  const body = Buffer.concat([payload(34, proposal), payload(40, ke), payload(0, randomBytes(32))]);
  const h = Buffer.alloc(28);
  randomBytes(8).copy(h, 0);
  h[16] = 33; // SA
  h[17] = 0x20;
  h[18] = 34; // IKE_SA_INIT
  h[19] = 0x08; // initiator
  h.writeUInt32BE(28 + body.length, 24);
  return Buffer.concat([h, body]);
}

let sent = 0;
let answers = 0;
let cookies = 0;
const pool = [];
function openSocket() {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => {
    answers++;
    if (m.length >= 36 && m[16] === 41 && m.readUInt16BE(28 + 6) === 16390) cookies++;
  });
  s.on('error', () => {});
  s.bind({ address: src, port: 0 });
  return { s, used: 0 };
}
for (let i = 0; i < SOCKETS; i++) pool.push(openSocket());

const t0 = Date.now();
let next = 0;
await new Promise((done) => {
  const timer = setInterval(() => {
    const elapsed = Date.now() - t0;
    const due = Math.min(COUNT, Math.floor(((elapsed + TICK_MS) * RATE) / 1000));
    while (sent < due) {
      const i = next++ % SOCKETS;
      let e = pool[i];
      if (e.used >= PER_SOCKET) {
        const old = e.s;
        setTimeout(() => old.close(), 500); // late answers still counted
        e = pool[i] = openSocket();
      }
      e.used++;
      sent++;
      e.s.send(initRequest(), 500, host);
    }
    if (sent >= COUNT || elapsed > MAX_MS) {
      clearInterval(timer);
      setTimeout(done, 500); // collect the last answers
    }
  }, TICK_MS);
});
for (const e of pool) e.s.close();
console.log(JSON.stringify({ sent, answers, cookies, ms: Date.now() - t0 }));
