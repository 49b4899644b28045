// UDP helpers for scripts/bench-tunnel.ts, run inside the lab's namespaces (plain Node ESM, no build step).
//
//   node scripts/bench-udp.mjs echo <bind-addr> <port> <max-seconds>
//       RFC 862 echo server; exits by itself after max-seconds (a bound in case nobody stops it).
//   node scripts/bench-udp.mjs load <src-addr> <dst-addr> <port> <ip-packet-bytes> <warmup-s> <seconds> <window>
//       Keeps <window> datagrams in flight to the echo server: every echo received (or a datagram given up as
//       lost after 500 ms) releases the next send. Counts echoes that arrive in the measured interval (after the
//       warm-up) and prints one JSON line: {echoes, seconds, pps, mbps, lost, sent, rttMs: {p50, p99}}.
//       pps = echoed round trips per second; mbps = pps * ip-packet-bytes * 8 / 1e6 (one direction's inner IP
//       packets, i.e. one seal + one open on each peer per round trip).
import dgram from 'node:dgram';

const [mode, ...a] = process.argv.slice(2);
const IP_UDP_HEADERS = 28; // IPv4 20 + UDP 8

if (mode === 'echo') {
  const [addr, port, maxS] = a;
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.on('error', (e) => {
    console.error(`echo: ${e.message}`);
    process.exit(1);
  });
  s.bind(Number(port), addr, () => console.log(`echo listening on ${addr}:${port}`));
  setTimeout(() => process.exit(0), Number(maxS) * 1000);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
} else if (mode === 'load') {
  const [src, dst, portS, sizeS, warmS, durS, winS] = a;
  const port = Number(portS);
  const size = Number(sizeS);
  const payload = size - IP_UDP_HEADERS;
  const warmMs = Number(warmS) * 1000;
  const durMs = Number(durS) * 1000;
  const window = Number(winS);
  const LOST_MS = 500;
  if (!(payload >= 8) || !(durMs > 0) || !(window > 0)) {
    console.error('load: bad arguments');
    process.exit(2);
  }
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  const inflight = new Map(); // seq -> send time (ms)
  let seq = 0;
  let sent = 0;
  let lost = 0;
  let echoes = 0;
  let sendErrors = 0;
  const rtts = [];
  let t0 = 0;
  let measureFrom = 0;
  let measureTo = 0;
  let stopped = false;
  const template = Buffer.alloc(payload, 0x5a);

  const sendOne = () => {
    if (stopped) return;
    const n = ++seq >>> 0;
    const b = Buffer.from(template); // own buffer per send: dgram keeps a reference until it is written
    b.writeUInt32BE(n, 0);
    inflight.set(n, performance.now());
    sent++;
    s.send(b, port, dst, (err) => {
      if (err) sendErrors++;
    });
  };
  s.on('message', (m) => {
    if (m.length < 4) return;
    const n = m.readUInt32BE(0);
    const at = inflight.get(n);
    if (at === undefined) return; // late answer to something already given up
    inflight.delete(n);
    const now = performance.now();
    if (now >= measureFrom && now < measureTo) {
      echoes++;
      if (rtts.length < 200000) rtts.push(now - at);
    }
    if (now < measureTo) sendOne();
  });
  s.on('error', (e) => {
    console.error(`load: ${e.message}`);
    process.exit(1);
  });
  s.bind(0, src, () => {
    t0 = performance.now();
    measureFrom = t0 + warmMs;
    measureTo = measureFrom + durMs;
    for (let i = 0; i < window; i++) sendOne();
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const [n, at] of inflight) {
        if (now - at < LOST_MS) break; // Map iterates in insertion order = send order
        inflight.delete(n);
        lost++;
        if (now < measureTo) sendOne();
      }
      if (inflight.size === 0 && now < measureTo) for (let i = 0; i < window; i++) sendOne();
    }, 50);
    setTimeout(
      () => {
        stopped = true;
        clearInterval(sweep);
        rtts.sort((x, y) => x - y);
        const q = (p) => (rtts.length ? Number(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(2)) : null);
        const seconds = durMs / 1000;
        const pps = echoes / seconds;
        console.log(
          JSON.stringify({
            echoes,
            seconds,
            pps,
            mbps: (pps * size * 8) / 1e6,
            lost,
            sent,
            sendErrors,
            window,
            size,
            rttMs: { p50: q(0.5), p99: q(0.99) },
          }),
        );
        s.close();
        process.exit(0);
      },
      warmMs + durMs + 20,
    );
  });
} else {
  console.error('usage: bench-udp.mjs echo ADDR PORT MAX_S | load SRC DST PORT SIZE WARMUP_S SECONDS WINDOW');
  process.exit(2);
}
