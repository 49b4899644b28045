// CPU cost of the userspace ESP engine per transform, in CPU microseconds (process.cpuUsage: user + system of
// every thread, so GC helper threads count; wall time would measure the machine's other load). Not a test;
// numbers vary with the CPU.
//
//   out=$(mktemp -d) && npx tsc --outDir "$out" --rootDir . --module nodenext --moduleResolution nodenext \
//     --target es2022 --strict --skipLibCheck --types node scripts/bench-esp.ts && node "$out/scripts/bench-esp.js" [packets] [options]
//
// Modes (see scripts/README.md):
//   (default)  EspOutbound.seal and EspInbound.open alone, 1400-byte inner packets, per transform and ESN.
//   --path     one echoed round trip through UserspaceBackend (open, inner packet, virtual host, seal), no I/O.
//   --udp      the same through UdpTransport on loopback, the peer in a child process: the daemon's CPU per round trip.
// Every mode also times the bare node:crypto calls one packet needs (a cipher context per AEAD packet, one update,
// one HMAC) in the same run, interleaved with the engine in rounds; non-crypto = engine - bare, median of rounds.
//
// Options (after [packets]): --size N (inner packet bytes, default 1400), --only a,b,c (names: --list),
// --no-esn (skip the +esn rows), --rounds N (default 7), --json (one JSON object per row; bench-tunnel.ts reads
// these), --list; --udp: --seconds S (measured, default 3), --window N (default 32).
import { randomBytes } from 'node:crypto';
import { EspInbound, EspOutbound, type EspSaParams } from '../src/ipsec/esp-sa.js';
import { bareCalls, cpuUs, median, pathBench, SUITES, udpBench, udpPeer, type Suite } from './bench-esp-path.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
async function main(): Promise<void> {
  const SIZE = Number(opt('--size') ?? 1400);
  /** Packets per transform (split over the rounds). */
  const BATCH = Number(argv[0] !== undefined && /^\d+$/.test(argv[0]) ? argv[0] : 50000);
  const ROUNDS = Number(opt('--rounds') ?? 7);
  const ONLY = opt('--only')?.split(',').filter(Boolean);
  const JSON_OUT = flag('--json');
  const ESN = flag('--no-esn') || flag('--udp') || flag('--path') ? [false] : [false, true];
  if (!(SIZE >= 40 && SIZE <= 65000) || !(BATCH > 0) || !(ROUNDS >= 1)) throw new Error('bad --size, --rounds or packets');
  if (flag('--list')) {
    console.log(SUITES.map((s) => s.name).join('\n'));
    return;
  }
  if (ONLY) {
    const unknown = ONLY.filter((n) => !SUITES.some((s) => s.name === n));
    if (unknown.length) throw new Error(`unknown transform(s) ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(' ')}`);
  }
  const suites = SUITES.filter((s) => !ONLY || ONLY.includes(s.name));
  const mode = flag('--udp') ? 'udp' : flag('--path') ? 'path' : 'engine';
  if (!JSON_OUT) {
    console.log(
      `ESP ${mode}: ${SIZE}-byte inner packets, node ${process.version}, CPU us (user+system, all threads), median of ${ROUNDS} rounds`,
    );
    if (mode === 'engine') console.log(`${'transform'.padEnd(18)}   seal   open  s+o us  bare s+o  non-crypto/pkt   seal kpps  open kpps`);
    else console.log(`${'transform'.padEnd(18)}  us/rtt  bare s+o  non-crypto/pkt  rtt/s${mode === 'udp' ? '  lost  kernel us/rtt' : ''}`);
  }
  for (const s of suites) {
    for (const esn of ESN) {
      const label = s.name + (esn ? '+esn' : '');
      if (mode === 'engine') {
        const r = engine(s, esn, SIZE, BATCH, ROUNDS);
        const nonCrypto = r.nonCrypto / 2; // per packet: a seal or an open
        if (JSON_OUT)
          console.log(
            JSON.stringify({
              transform: s.name,
              esn,
              size: SIZE,
              packets: BATCH,
              sealUs: r.seal,
              openUs: r.open,
              bareUs: r.bare,
              nonCryptoUsPerPacket: nonCrypto,
              sealPps: 1e6 / r.seal,
              openPps: 1e6 / r.open,
              bothPps: 1e6 / (r.seal + r.open),
            }),
          );
        else
          console.log(
            `${label.padEnd(18)} ${f2(r.seal)} ${f2(r.open)} ${f2(r.seal + r.open)}    ${f2(r.bare)}          ${f2(nonCrypto)}     ${(1e3 / r.seal).toFixed(1).padStart(7)}    ${(1e3 / r.open).toFixed(1).padStart(7)}`,
          );
      } else {
        const r =
          mode === 'path'
            ? pathBench(s, SIZE, BATCH, ROUNDS)
            : await udpBench(s, SIZE, Number(opt('--seconds') ?? 3), Number(opt('--window') ?? 32), ROUNDS);
        const nonCrypto = (r.rtt - r.bare) / 2;
        if (JSON_OUT)
          console.log(
            JSON.stringify({
              mode,
              transform: s.name,
              size: SIZE,
              usPerRtt: r.rtt,
              bareUs: r.bare,
              nonCryptoUsPerPacket: nonCrypto,
              rttPerS: r.rate,
              lost: r.lost,
              kernelUsPerRtt: r.kernel,
            }),
          );
        else
          console.log(
            `${label.padEnd(18)} ${f2(r.rtt)}    ${f2(r.bare)}          ${f2(nonCrypto)}  ${r.rate.toFixed(0).padStart(6)}${mode === 'udp' ? `  ${String(r.lost).padStart(4)}  ${f2(r.kernel ?? NaN)}` : ''}`,
          );
      }
    }
  }
}

const f2 = (v: number) => v.toFixed(2).padStart(6);

/**
 * Seal and open per packet, and the bare crypto calls of one seal + one open, in interleaved rounds (so a burst of
 * load elsewhere hits both alike). nonCrypto = median over rounds of (seal + open - bare).
 */
function engine(s: Suite, esn: boolean, size: number, batch: number, rounds: number) {
  const p: EspSaParams = {
    spi: randomBytes(4),
    encr: s.encr,
    encrKeyBits: s.bits,
    integ: s.integ,
    encKey: randomBytes(s.encLen),
    integKey: randomBytes(s.intLen),
    esn,
    replayWindow: 1024,
  };
  const out = new EspOutbound(p);
  const inb = new EspInbound(p);
  const inner = randomBytes(size);
  const bare = bareCalls(s, size);
  for (let i = 0; i < 2000; i++) {
    inb.open(out.seal(inner, 4)); // warm up JIT and OpenSSL contexts
    bare();
  }
  const n = Math.max(1, Math.floor(batch / rounds));
  // Sealed packets are opened in chunks of CHUNK and then dropped, as in the daemon: holding a whole round's packets
  // (3,000+ x 1.5 KiB) kept them alive through scavenges, and their promotion and the external-memory GCs were charged
  // to seal (seal measured 2-3x open for some transforms). seal, open and the bare calls alternate per chunk, so a
  // GC or a burst of load elsewhere lands on all three alike.
  const CHUNK = 64;
  const sealed: Buffer[] = new Array(CHUNK);
  const seal: number[] = [];
  const open: number[] = [];
  const bareUs: number[] = [];
  const nonCrypto: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let sealT = 0;
    let openT = 0;
    let bareT = 0;
    let done = 0;
    while (done < n) {
      const k = Math.min(CHUNK, n - done);
      let t = cpuUs();
      for (let i = 0; i < k; i++) sealed[i] = out.seal(inner, 4);
      let t2 = cpuUs();
      sealT += t2 - t;
      t = t2;
      for (let i = 0; i < k; i++) if (!inb.open(sealed[i]!).ok) throw new Error(`${s.name}: open failed`);
      t2 = cpuUs();
      openT += t2 - t;
      t = t2;
      for (let i = 0; i < k; i++) bare();
      bareT += cpuUs() - t;
      done += k;
    }
    seal.push(sealT / n);
    open.push(openT / n);
    bareUs.push(bareT / n);
    nonCrypto.push(seal[r]! + open[r]! - bareUs[r]!);
  }
  return { seal: median(seal), open: median(open), bare: median(bareUs), nonCrypto: median(nonCrypto) };
}

if (flag('--udp-peer')) udpPeer(JSON.parse(opt('--udp-peer')!));
else await main();
