// daemon.save_keys / daemon.pcap: the Wireshark table lines (format checked against fixed keys and against the keys
// of an IKE_SA and CHILD_SA of the in-process pair), file modes, appends on rekey, the config errors, and the pcap
// file's structure. tshark decrypting the result: test/interop/wireshark.test.ts.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ipUdpPacket, pcapFileHeader } from '../../src/log/pcap.js';
import { ESP_TABLE, espSaLines, IKEV2_TABLE, ikev2TableLine, KeyFileWriter } from '../../src/ike/key-export.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import { makePair, type Pair, peerYaml } from '../helpers/peers.js';

let pair: Pair | undefined;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ikelab-keys-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const b = (hex: string) => Buffer.from(hex, 'hex');

describe('line formats', () => {
  test('ikev2_decryption_table: bare hex SPIs and keys, quoted Wireshark names', () => {
    const r = ikev2TableLine({
      kind: 'ike',
      spiI: b('0102030405060708'),
      spiR: b('a1a2a3a4a5a6a7a8'),
      encr: Encr.AES_CBC,
      encrKeyBits: 256,
      integ: Integ.HMAC_SHA2_256_128,
      skEi: b('11'.repeat(32)),
      skEr: b('22'.repeat(32)),
      skAi: b('33'.repeat(32)),
      skAr: b('44'.repeat(32)),
    });
    expect(r).toEqual({
      line: `0102030405060708,a1a2a3a4a5a6a7a8,${'11'.repeat(32)},${'22'.repeat(32)},"AES-CBC-256 [RFC3602]",${'33'.repeat(32)},${'44'.repeat(32)},"HMAC_SHA2_256_128 [RFC4868]"`,
    });
  });

  test('ikev2_decryption_table, AEAD: salt stays in SK_e, integrity NONE with empty keys', () => {
    const r = ikev2TableLine({
      kind: 'ike',
      spiI: b('0102030405060708'),
      spiR: b('a1a2a3a4a5a6a7a8'),
      encr: Encr.AES_GCM_16,
      encrKeyBits: 128,
      skEi: b('11'.repeat(20)),
      skEr: b('22'.repeat(20)),
      skAi: Buffer.alloc(0),
      skAr: Buffer.alloc(0),
    });
    expect(r).toEqual({
      line: `0102030405060708,a1a2a3a4a5a6a7a8,${'11'.repeat(20)},${'22'.repeat(20)},"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"`,
    });
  });

  test('ChaCha20-Poly1305 has no Wireshark IKEv2 name: skipped with a reason', () => {
    const r = ikev2TableLine({
      kind: 'ike',
      spiI: Buffer.alloc(8),
      spiR: Buffer.alloc(8),
      encr: Encr.CHACHA20_POLY1305,
      skEi: Buffer.alloc(36),
      skEr: Buffer.alloc(36),
      skAi: Buffer.alloc(0),
      skAr: Buffer.alloc(0),
    });
    expect(r).toEqual({ skip: 'encryption algorithm 28 has no Wireshark IKEv2 name' });
  });

  test('esp_sa: outbound then inbound, every column quoted, 0x-hex SPI and keys', () => {
    const r = espSaLines({
      kind: 'child',
      local: '10.0.0.1',
      remote: '10.0.0.2',
      spiIn: b('c1000001'),
      spiOut: b('c2000002'),
      encr: Encr.AES_CBC,
      encrKeyBits: 128,
      integ: Integ.HMAC_SHA1_96,
      encrIn: b('aa'.repeat(16)),
      integIn: b('bb'.repeat(20)),
      encrOut: b('cc'.repeat(16)),
      integOut: b('dd'.repeat(20)),
    });
    expect(r).toEqual({
      lines: [
        `"IPv4","10.0.0.1","10.0.0.2","0xc2000002","AES-CBC [RFC3602]","0x${'cc'.repeat(16)}","HMAC-SHA-1-96 [RFC2404]","0x${'dd'.repeat(20)}"`,
        `"IPv4","10.0.0.2","10.0.0.1","0xc1000001","AES-CBC [RFC3602]","0x${'aa'.repeat(16)}","HMAC-SHA-1-96 [RFC2404]","0x${'bb'.repeat(20)}"`,
      ],
    });
  });

  test('esp_sa, AES-GCM over IPv6: the name carries the ICV length, authentication NULL with no key', () => {
    const r = espSaLines({
      kind: 'child',
      local: 'fd00::1',
      remote: 'fd00::2',
      spiIn: b('c1000001'),
      spiOut: b('c2000002'),
      encr: Encr.AES_GCM_8,
      encrKeyBits: 256,
      encrIn: b('aa'.repeat(36)),
      integIn: Buffer.alloc(0),
      encrOut: b('cc'.repeat(36)),
      integOut: Buffer.alloc(0),
    });
    expect('lines' in r && r.lines[0]).toBe(
      `"IPv6","fd00::1","fd00::2","0xc2000002","AES-GCM with 8 octet ICV [RFC4106]","0x${'cc'.repeat(36)}","NULL",""`,
    );
  });

  test('a table left readable by others is narrowed to 0600; an unwritable directory is reported once', () => {
    const dir = tmp();
    writeFileSync(join(dir, IKEV2_TABLE), '', { mode: 0o644 });
    const reports: string[] = [];
    const w = new KeyFileWriter(dir, (m) => reports.push(m));
    const ike = {
      kind: 'ike' as const,
      spiI: Buffer.alloc(8, 1),
      spiR: Buffer.alloc(8, 2),
      encr: Encr.AES_CBC,
      encrKeyBits: 128,
      integ: Integ.HMAC_SHA1_96,
      skEi: Buffer.alloc(16),
      skEr: Buffer.alloc(16),
      skAi: Buffer.alloc(20),
      skAr: Buffer.alloc(20),
    };
    w.write(ike);
    expect(statSync(join(dir, IKEV2_TABLE)).mode & 0o777).toBe(0o600);
    const gone = new KeyFileWriter(join(dir, 'missing'), (m) => reports.push(m));
    gone.write(ike);
    gone.write(ike);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/^save_keys: writing .*missing\/ikev2_decryption_table failed/);
  });
});

describe('daemon.save_keys with the in-process pair', () => {
  test('the IKE_SA line and the CHILD_SA lines carry the negotiated SPIs and keys; a rekey appends', () => {
    const dir = tmp();
    pair = makePair({
      a: { extraDaemon: `  save_keys: ${dir}\n`, espProposals: ['aes128-sha256'] },
      b: { espProposals: ['aes128-sha256'] },
    });
    const p = pair;
    p.establish();
    const sa = p.a.sa();
    const k = sa.keys!;
    const ike = readFileSync(join(dir, IKEV2_TABLE), 'utf8');
    expect(ike).toBe(
      `${sa.spiI.toString('hex')},${sa.spiR.toString('hex')},${k.skEi.toString('hex')},${k.skEr.toString('hex')},"AES-CBC-256 [RFC3602]",${k.skAi.toString('hex')},${k.skAr.toString('hex')},"HMAC_SHA2_256_128 [RFC4868]"\n`,
    );
    const c = p.a.children()[0]!;
    const esp = readFileSync(join(dir, ESP_TABLE), 'utf8').trimEnd().split('\n');
    expect(esp).toEqual([
      `"IPv4","127.0.0.1","127.0.0.2","0x${c.spiOut.toString('hex')}","AES-CBC [RFC3602]","0x${c.keys!.encrOut.toString('hex')}","HMAC-SHA-256-128 [RFC4868]","0x${c.keys!.integOut.toString('hex')}"`,
      `"IPv4","127.0.0.2","127.0.0.1","0x${c.spiIn.toString('hex')}","AES-CBC [RFC3602]","0x${c.keys!.encrIn.toString('hex')}","HMAC-SHA-256-128 [RFC4868]","0x${c.keys!.integIn.toString('hex')}"`,
    ]);
    // B's outbound key is A's inbound one: the two directions are the right way round
    const cb = p.b.children()[0]!;
    expect(cb.keys!.encrOut.equals(c.keys!.encrIn)).toBe(true);
    for (const f of [IKEV2_TABLE, ESP_TABLE]) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(p.a.sink.records.some((r) => r.level === 0 && r.message.startsWith('WARNING: daemon.save_keys is on'))).toBe(true);
    // the keys are in the files only: no log record or event carries them
    const hexKey = c.keys!.encrOut.toString('hex');
    expect(p.a.sink.records.some((r) => JSON.stringify(r).includes(hexKey))).toBe(false);

    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    const after = readFileSync(join(dir, ESP_TABLE), 'utf8').trimEnd().split('\n');
    expect(after).toHaveLength(4);
    const fresh = p.a.children().find((x) => x !== c)!;
    expect(after[2]).toContain(`"0x${fresh.spiOut.toString('hex')}"`);
    expect(after[3]).toContain(`"0x${fresh.spiIn.toString('hex')}"`);
  });

  test('config: save_keys must be an existing directory, pcap a file in one (key path and line named)', () => {
    const yaml = peerYaml('A', { extraDaemon: '  save_keys: /nonexistent/keys\n' });
    expect(() => parseConfig(yaml, 'a.yaml')).toThrow(
      /^a\.yaml: daemon\.save_keys: expected an existing directory, got \/nonexistent\/keys \[line \d+, column \d+\]$/,
    );
    const yaml2 = peerYaml('A', { extraDaemon: '  pcap: /nonexistent/dir/x.pcap\n' });
    expect(() => parseConfig(yaml2, 'a.yaml')).toThrow(/^a\.yaml: daemon\.pcap: expected a file path in an existing directory.*\[line \d+/);
    const ok = parseConfig(peerYaml('A', { extraDaemon: `  save_keys: ${tmpdir()}\n` }), 'a.yaml');
    expect(ok.daemon.saveKeys).toBe(tmpdir());
    expect(parseConfig(peerYaml('A'), 'a.yaml').daemon.saveKeys).toBeUndefined();
  });
});

describe('daemon.pcap', () => {
  test('IPv4 header and UDP checksum of a synthesized datagram verify', () => {
    const pkt = ipUdpPacket(Buffer.from('hello'), { address: '10.1.2.3', port: 4500 }, { address: '10.3.2.1', port: 4501 });
    expect(pkt.length).toBe(20 + 8 + 5);
    const sum = (buf: Buffer) => {
      let s = 0;
      for (let i = 0; i < buf.length; i += 2) s += (buf[i]! << 8) + (buf[i + 1] ?? 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    expect(sum(pkt.subarray(0, 20))).toBe(0xffff);
    const pseudo = Buffer.concat([pkt.subarray(12, 20), Buffer.from([0, 17, 0, 13])]);
    expect(sum(Buffer.concat([pseudo, pkt.subarray(20)]))).toBe(0xffff);
    expect(pkt.subarray(28).toString()).toBe('hello');
    const v6 = ipUdpPacket(Buffer.from('x'), { address: 'fd00::1', port: 500 }, { address: '::ffff:10.0.0.1', port: 500 });
    expect(v6.subarray(8, 24).toString('hex')).toBe(`fd00${'0'.repeat(26)}01`);
    expect(v6.subarray(24, 40).toString('hex')).toBe(`${'0'.repeat(20)}ffff0a000001`);
  });

  test('every IKE and ESP datagram of a peer, both directions, NAT-T marker included', async () => {
    const dir = tmp();
    const file = join(dir, 'a.pcap');
    pair = makePair({
      esp: true,
      a: { extraDaemon: `  pcap: ${file}\n`, hostAddrs: ['10.201.0.1'] },
      b: { hostAddrs: ['10.202.0.1'] },
    });
    const p = pair;
    p.establish();
    const r = await p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 2, intervalMs: 1, timeoutMs: 500 });
    expect(r).toMatchObject({ received: 2 });
    await p.a.daemon.stop();
    const data = readFileSync(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(data.subarray(0, 24)).toEqual(pcapFileHeader());
    const recs: Buffer[] = [];
    for (let off = 24; off < data.length; ) {
      const len = data.readUInt32LE(off + 8);
      recs.push(data.subarray(off + 16, off + 16 + len));
      off += 16 + len;
    }
    const ports = recs.map((x) => `${x.readUInt16BE(20)}>${x.readUInt16BE(22)}`);
    // IKE_SA_INIT on 15000 both ways, IKE_AUTH on the NAT-T port (forced encapsulation), then 2 ESP each way
    expect(ports.slice(0, 2)).toEqual(['15000>15000', '15000>15000']);
    const natt = recs.filter((x) => x.readUInt16BE(20) === 15001);
    expect(natt.length).toBe(ports.filter((x) => x.startsWith('15001')).length);
    const ike = natt.filter((x) => x.readUInt32BE(28) === 0);
    const esp = natt.filter((x) => x.readUInt32BE(28) !== 0);
    expect(ike.length).toBeGreaterThanOrEqual(2); // IKE_AUTH request and response, non-ESP marker kept
    expect(esp.length).toBe(4);
    const c = p.a.children()[0] ?? undefined;
    if (c) expect(esp.some((x) => x.subarray(28, 32).equals(c.spiOut))).toBe(true);
  });
});
