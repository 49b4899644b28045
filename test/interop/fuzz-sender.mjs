// Sends a bounded burst of malformed datagrams to an ikelab daemon (run inside the test's own namespace).
// usage: node fuzz-sender.mjs HOST SPI_I SPI_R  -> prints the number of datagrams sent
import dgram from 'node:dgram';

const [host, spiIHex, spiRHex] = process.argv.slice(2);
const spiI = Buffer.from(spiIHex, 'hex');
const spiR = Buffer.from(spiRHex, 'hex');
let seed = 12345;
const rnd = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; b[i] = seed >>> 24; } return b; };

function header(exchange, flags, mid, len, next = 46) {
  const h = Buffer.alloc(28);
  spiI.copy(h, 0); spiR.copy(h, 8);
  h[16] = next; h[17] = 0x20; h[18] = exchange; h[19] = flags; h.writeUInt32BE(mid, 20); h.writeUInt32BE(len, 24);
  return h;
}
const sk = (body) => { const g = Buffer.alloc(4); g[0] = 0; g.writeUInt16BE(4 + body.length, 2); return Buffer.concat([g, body]); };
const msgs = [];
// truncated and random
for (let n = 0; n < 40; n++) msgs.push(rnd(n));
for (let i = 0; i < 60; i++) msgs.push(rnd(28 + (i * 37) % 400));
// the established SA's SPIs with a forged SK payload (integrity must fail), as request and as response
for (let mid = 0; mid < 5; mid++) for (const flags of [0x00, 0x08]) { const body = rnd(80); msgs.push(Buffer.concat([header(37, flags, mid, 28 + 84), sk(body)])); }
for (let mid = 0; mid < 5; mid++) { const body = rnd(80); msgs.push(Buffer.concat([header(37, 0x20, mid, 28 + 84), sk(body)])); }
// wrong-length header fields: shorter, longer than the datagram, payload length past the end
msgs.push(Buffer.concat([header(37, 0x08, 2, 20), sk(rnd(40))]));
msgs.push(Buffer.concat([header(37, 0x08, 2, 5000), sk(rnd(40))]));
{ const m = Buffer.concat([header(37, 0x08, 2, 28 + 44), sk(rnd(40))]); m.writeUInt16BE(900, 30); msgs.push(m); }
// unknown critical payload in IKE_SA_INIT, bad major version, unknown exchange
{ const h = header(34, 0x08, 0, 28 + 8, 99); h.fill(0, 8, 16); const p = Buffer.from([0, 0x80, 0, 8, 1, 2, 3, 4]); msgs.push(Buffer.concat([h, p])); }
{ const h = header(34, 0x08, 0, 28, 0); h[17] = 0x30; msgs.push(h); }
{ const h = header(99, 0x08, 0, 28, 0); msgs.push(h); }
// oversized (near the UDP maximum)
msgs.push(Buffer.concat([header(37, 0x08, 2, 28 + 60000), sk(rnd(59996))]));

const sock = dgram.createSocket('udp4');
let sent = 0;
const send = (port, data) => new Promise((res) => sock.send(data, port, host, () => { sent++; res(); }));
for (const m of msgs) {
  await send(500, m);
  await send(4500, Buffer.concat([Buffer.alloc(4), m])); // with the non-ESP marker
}
await send(4500, Buffer.from([0xff])); // NAT-T keepalive
await send(4500, rnd(3)); // runt
await send(4500, Buffer.concat([Buffer.from([1, 2, 3, 4]), rnd(60)])); // ESP with an unknown SPI
sock.close();
console.log(sent);
