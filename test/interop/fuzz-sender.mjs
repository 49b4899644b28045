// Sends a bounded burst of malformed datagrams to an ikelab daemon (run inside the test's own namespace).
// usage: node fuzz-sender.mjs HOST SPI_I SPI_R  -> prints the number of datagrams sent
//
// Optional, for long runs by hand (test/interop/attacks.test.ts runs a short one):
//   node fuzz-sender.mjs HOST SPI_I SPI_R [COUNT] [--attacks] [--role initiator|responder] [--mid N]
//        [--last-mid N] [--outstanding-mid N] [--seconds S] [--seed N] [--bind ADDR] [--rate N]
// COUNT: send exactly this many datagrams (at most 10,000,000), cycling through the malformed set above and,
//   with --attacks, mixing in forgeries against the live IKE_SA (about half of all datagrams):
//   - 28-byte IKE_SA_INIT requests (header only) with the live SPIs, around --mid (the next expected ID);
//   - complete IKE_SA_INIT requests (SA aes256-sha256-modp2048, KE, Nonce) with the live SPIs, sometimes with
//     one SPI bit-flipped or a byte mutated;
//   - responses of every exchange type with a junk SK payload, around --outstanding-mid (ikelab's own
//     request, e.g. a DPD);
//   - requests with junk bodies that reuse --last-mid (the last message ID ikelab answered).
//   --role is ikelab's role in the IKE_SA. It selects the I flag the real peer uses. Both flags are sent anyway.
// --seconds stops the run early (default 300, at most 3600). Prints the number of datagrams sent.
// Without COUNT and --attacks the behaviour is the original bounded burst.
import dgram from 'node:dgram';
import { getDiffieHellman, randomBytes } from 'node:crypto';

const positional = [];
const opt = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) positional.push(a);
  else if (a === '--attacks') opt.attacks = true;
  else opt[a.slice(2)] = process.argv[++i];
}
const [host, spiIHex, spiRHex, countArg] = positional;
const spiI = Buffer.from(spiIHex, 'hex');
const spiR = Buffer.from(spiRHex, 'hex');
let seed = 12345;
const rnd = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
};

function header(exchange, flags, mid, len, next = 46) {
  const h = Buffer.alloc(28);
  spiI.copy(h, 0);
  spiR.copy(h, 8);
  h[16] = next;
  h[17] = 0x20;
  h[18] = exchange;
  h[19] = flags;
  h.writeUInt32BE(mid, 20);
  h.writeUInt32BE(len, 24);
  return h;
}
const sk = (body) => {
  const g = Buffer.alloc(4);
  g[0] = 0;
  g.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([g, body]);
};
const msgs = [];
// truncated and random
for (let n = 0; n < 40; n++) msgs.push(rnd(n));
for (let i = 0; i < 60; i++) msgs.push(rnd(28 + ((i * 37) % 400)));
// the established SA's SPIs with a forged SK payload (integrity must fail), as request and as response
for (let mid = 0; mid < 5; mid++)
  for (const flags of [0x00, 0x08]) {
    const body = rnd(80);
    msgs.push(Buffer.concat([header(37, flags, mid, 28 + 84), sk(body)]));
  }
for (let mid = 0; mid < 5; mid++) {
  const body = rnd(80);
  msgs.push(Buffer.concat([header(37, 0x20, mid, 28 + 84), sk(body)]));
}
// wrong-length header fields: shorter, longer than the datagram, payload length past the end
msgs.push(Buffer.concat([header(37, 0x08, 2, 20), sk(rnd(40))]));
msgs.push(Buffer.concat([header(37, 0x08, 2, 5000), sk(rnd(40))]));
{
  const m = Buffer.concat([header(37, 0x08, 2, 28 + 44), sk(rnd(40))]);
  m.writeUInt16BE(900, 30);
  msgs.push(m);
}
// unknown critical payload in IKE_SA_INIT, bad major version, unknown exchange
{
  const h = header(34, 0x08, 0, 28 + 8, 99);
  h.fill(0, 8, 16);
  const p = Buffer.from([0, 0x80, 0, 8, 1, 2, 3, 4]);
  msgs.push(Buffer.concat([h, p]));
}
{
  const h = header(34, 0x08, 0, 28, 0);
  h[17] = 0x30;
  msgs.push(h);
}
{
  const h = header(99, 0x08, 0, 28, 0);
  msgs.push(h);
}
// oversized (near the UDP maximum)
msgs.push(Buffer.concat([header(37, 0x08, 2, 28 + 60000), sk(rnd(59996))]));

const sock = dgram.createSocket('udp4');
if (opt.bind)
  await new Promise((res, rej) => {
    sock.once('error', rej);
    sock.bind({ address: opt.bind, port: 0 }, res);
  });
let sent = 0;
const send = (port, data) =>
  new Promise((res) =>
    sock.send(data, port, host, () => {
      sent++;
      res();
    }),
  );
if (countArg === undefined && !opt.attacks) {
  for (const m of msgs) {
    await send(500, m);
    await send(4500, Buffer.concat([Buffer.alloc(4), m])); // with the non-ESP marker
  }
  await send(4500, Buffer.from([0xff])); // NAT-T keepalive
  await send(4500, rnd(3)); // runt
  await send(4500, Buffer.concat([Buffer.from([1, 2, 3, 4]), rnd(60)])); // ESP with an unknown SPI
} else {
  await longRun();
}
sock.close();
console.log(sent);

// ---------------------------------------------------------------------------------------------------------------
// Long, bounded runs (COUNT and/or --attacks)

async function longRun() {
  const count = Math.min(Math.max(0, Number(countArg ?? 10_000)), 10_000_000);
  const deadline = Date.now() + Math.min(Number(opt.seconds ?? 300), 3600) * 1000;
  if (opt.seed !== undefined) seed = Number(opt.seed) >>> 0;
  const u32 = () => rnd(4).readUInt32BE(0);
  const pick = (list) => list[u32() % list.length];
  const peerI = opt.role === 'initiator' ? 0x00 : 0x08; // the I flag the real peer sends with
  const mid = Number(opt.mid ?? 1);
  const lastMid = Number(opt['last-mid'] ?? Math.max(0, mid - 1));
  const outstanding = Number(opt['outstanding-mid'] ?? mid);
  const around = (m) => Math.max(0, m + pick([-1, 0, 0, 0, 1, 2]));
  const flags = () => pick([peerI, peerI, peerI, peerI ^ 0x08]);

  // payload chain with generic headers: [[type, body], ...] -> { first, bytes }
  const chain = (pls) => {
    const parts = pls.map(([, body], i) => {
      const g = Buffer.alloc(4);
      g[0] = pls[i + 1]?.[0] ?? 0;
      g.writeUInt16BE(4 + body.length, 2);
      return Buffer.concat([g, body]);
    });
    return { first: pls[0]?.[0] ?? 0, bytes: Buffer.concat(parts) };
  };
  const transform = (type, id, keyLen) => {
    const t = Buffer.alloc(keyLen ? 12 : 8);
    t[0] = 3;
    t.writeUInt16BE(t.length, 2);
    t[4] = type;
    t.writeUInt16BE(id, 6);
    if (keyLen) {
      t.writeUInt16BE(0x800e, 8);
      t.writeUInt16BE(keyLen, 10);
    }
    return t;
  };
  // IKE proposal aes256-sha256-modp2048: ENCR AES_CBC/256, PRF HMAC_SHA2_256, INTEG HMAC_SHA2_256_128, DH 14
  const ts = [transform(1, 12, 256), transform(2, 5), transform(3, 12), transform(4, 14)];
  ts[ts.length - 1][0] = 0; // last transform
  const prop = Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 1, 0, ts.length]), ...ts]);
  prop.writeUInt16BE(prop.length, 2);
  const dh = getDiffieHellman('modp14');
  const initBodies = [0, 1, 2].map(() => {
    const pub = dh.generateKeys();
    const ke = Buffer.concat([Buffer.from([0, 14, 0, 0]), Buffer.alloc(256 - pub.length), pub]);
    return chain([
      [33, prop],
      [34, ke],
      [40, randomBytes(32)],
    ]);
  });

  const withSpis = (h, flip) => {
    if (flip) h[pick([7, 15])] ^= 1 << (u32() % 8);
    return h;
  };
  const attackMsg = () => {
    switch (u32() % 4) {
      case 0: // header-only IKE_SA_INIT request
        return withSpis(header(34, flags(), around(mid), 28, 0), u32() % 8 === 0);
      case 1: {
        // complete IKE_SA_INIT request with the live SPIs
        const b = pick(initBodies);
        const m = Buffer.concat([withSpis(header(34, flags(), around(mid), 28 + b.bytes.length, b.first), u32() % 4 === 0), b.bytes]);
        if (u32() % 8 === 0) m[28 + (u32() % b.bytes.length)] ^= 0xff;
        return m;
      }
      case 2: {
        // a response of any exchange type with a junk SK payload
        const body = rnd(16 + (u32() % 120));
        return Buffer.concat([header(pick([34, 35, 36, 37]), 0x20 | flags(), around(outstanding), 28 + 4 + body.length), sk(body)]);
      }
      default: {
        // a junk request reusing the last answered message ID
        if (u32() % 10 === 0) return header(pick([35, 36, 37]), flags(), lastMid, 28, 0);
        const body = rnd(16 + (u32() % 200));
        return Buffer.concat([header(pick([35, 36, 37]), flags(), lastMid, 28 + 4 + body.length), sk(body)]);
      }
    }
  };

  const base = [];
  for (const m of msgs) base.push([500, m], [4500, Buffer.concat([Buffer.alloc(4), m])]);
  base.push([4500, Buffer.from([0xff])], [4500, rnd(3)], [4500, Buffer.concat([Buffer.from([1, 2, 3, 4]), rnd(60)])]);
  // --rate N: at most N datagrams per second (paced in 10 ms slices), to separate "survives hostile input" from
  // "survives more datagrams than it can read" (the kernel then drops the peer's answers too).
  const rate = opt.rate ? Math.max(1, Number(opt.rate)) : 0;
  const started = Date.now();
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    if (rate && i % Math.max(1, Math.floor(rate / 100)) === 0) {
      const ahead = (i / rate) * 1000 - (Date.now() - started);
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    }
    if (opt.attacks && u32() % 2 === 0) {
      const m = attackMsg();
      if (u32() % 2 === 0) await send(500, m);
      else await send(4500, Buffer.concat([Buffer.alloc(4), m]));
    } else {
      const [port, m] = base[i % base.length];
      await send(port, m);
    }
  }
}
