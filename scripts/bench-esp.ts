// Throughput of the userspace ESP engine per transform: seal (encrypt + ICV) and open (ICV + decrypt +
// anti-replay) of 1400-byte inner packets, one core, node:crypto. Not a test; numbers vary with the CPU.
//
//   out=$(mktemp -d) && npx tsc --outDir "$out" --rootDir . --module nodenext --moduleResolution nodenext \
//     --target es2022 --skipLibCheck --types node scripts/bench-esp.ts && node "$out/scripts/bench-esp.js" [packets]
//
// Options (after [packets]): --size N (inner packet bytes, default 1400), --only a,b,c (transform names below),
// --no-esn (skip the +esn rows), --json (one JSON object per row; scripts/bench-tunnel.ts reads these), --list.
import { randomBytes } from 'node:crypto';
import { EspInbound, EspOutbound, type EspSaParams } from '../src/ipsec/esp-sa.js';
import { Encr, Integ } from '../src/wire/constants.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SIZE = Number(opt('--size') ?? 1400);
/** Packets per measurement (about a second each on a current x86 core). */
const BATCH = Number(argv[0] !== undefined && /^\d+$/.test(argv[0]) ? argv[0] : 50000);
const ONLY = opt('--only')?.split(',').filter(Boolean);
const JSON_OUT = flag('--json');
const ESN = flag('--no-esn') ? [false] : [false, true];
if (!(SIZE >= 40 && SIZE <= 65000) || !(BATCH > 0)) throw new Error('bad --size or packets');

const SUITES: { name: string; encr: number; bits?: number; integ?: number; encLen: number; intLen: number }[] = [
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

/** Packets per second of fn over the batch. */
function rate(n: number, fn: (i: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return (n / (performance.now() - start)) * 1000;
}

const fmt = (pps: number) => `${((pps * SIZE * 8) / 1e6).toFixed(0).padStart(6)} Mbit/s ${(pps / 1000).toFixed(1).padStart(7)} kpps`;

if (flag('--list')) {
  console.log(SUITES.map((s) => s.name).join('\n'));
  process.exit(0);
}
if (ONLY) {
  const unknown = ONLY.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown transform(s) ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(' ')}`);
}
if (!JSON_OUT) {
  console.log(`ESP ${SIZE}-byte inner packets, ${BATCH} per measurement, node ${process.version}`);
  console.log(`${'transform'.padEnd(18)} ${'seal'.padEnd(26)} ${'open'.padEnd(26)} seal+open`);
}
for (const s of SUITES) {
  if (ONLY && !ONLY.includes(s.name)) continue;
  for (const esn of ESN) {
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
    const inner = randomBytes(SIZE);
    for (let i = 0; i < 2000; i++) inb.open(out.seal(inner, 4)); // warm up JIT and OpenSSL contexts
    // Seal a batch, then open the same batch: each side measured alone, the window sees a rising sequence.
    const sealed: Buffer[] = new Array(BATCH);
    const sealRate = rate(BATCH, (i) => {
      sealed[i] = out.seal(inner, 4);
    });
    const openRate = rate(BATCH, (i) => {
      const r = inb.open(sealed[i]!);
      if (!r.ok) throw new Error(`${s.name}: open failed`);
    });
    const both = 1 / (1 / sealRate + 1 / openRate);
    if (JSON_OUT)
      console.log(
        JSON.stringify({ transform: s.name, esn, size: SIZE, packets: BATCH, sealPps: sealRate, openPps: openRate, bothPps: both }),
      );
    else console.log(`${(s.name + (esn ? '+esn' : '')).padEnd(18)} ${fmt(sealRate)}   ${fmt(openRate)}   ${fmt(both)}`);
  }
}
