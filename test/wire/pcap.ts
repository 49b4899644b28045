// Tiny capture reader for the reference captures: classic pcap and pcapng (the reference files are pcapng),
// Ethernet / IPv4 / UDP only. Yields IKE messages: on port 4500 the 4-byte non-ESP marker is stripped (RFC 3948
// 2.2), ESP (non-zero first 4 bytes) and 1-byte NAT keepalives are skipped.

import { readFileSync } from 'node:fs';

export interface CapturedIke {
  index: number; // position among all UDP datagrams of the capture
  srcPort: number;
  dstPort: number;
  data: Buffer;
}

function* linkFrames(file: Buffer): Generator<{ linkType: number; frame: Buffer }> {
  const magic = file.readUInt32LE(0);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    const linkType = file.readUInt32LE(20);
    for (let off = 24; off + 16 <= file.length; ) {
      const incl = file.readUInt32LE(off + 8);
      yield { linkType, frame: file.subarray(off + 16, off + 16 + incl) };
      off += 16 + incl;
    }
    return;
  }
  if (magic !== 0x0a0d0d0a) throw new Error(`not a pcap/pcapng file (magic ${magic.toString(16)})`);
  const linkTypes: number[] = [];
  for (let off = 0; off + 12 <= file.length; ) {
    const type = file.readUInt32LE(off);
    const len = file.readUInt32LE(off + 4);
    const body = file.subarray(off + 8, off + len - 4);
    if (type === 1) linkTypes.push(body.readUInt16LE(0)); // Interface Description Block
    if (type === 6) {
      // Enhanced Packet Block: interface, timestamp (8), captured length, original length, data.
      const capLen = body.readUInt32LE(12);
      yield { linkType: linkTypes[body.readUInt32LE(0)] ?? 1, frame: body.subarray(20, 20 + capLen) };
    }
    off += len;
  }
}

export function readIkeMessages(path: string): CapturedIke[] {
  const out: CapturedIke[] = [];
  let index = 0;
  for (const { linkType, frame } of linkFrames(readFileSync(path))) {
    if (linkType !== 1 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    const srcPort = udp.readUInt16BE(0);
    const dstPort = udp.readUInt16BE(2);
    let data = udp.subarray(8, udp.readUInt16BE(4));
    index++;
    if (srcPort === 4500 || dstPort === 4500) {
      if (data.length === 1 && data[0] === 0xff) continue; // NAT-T keepalive (RFC 3948 2.3)
      if (data.length < 4 || data.readUInt32BE(0) !== 0) continue; // ESP in UDP
      data = data.subarray(4);
    } else if (srcPort !== 500 && dstPort !== 500) continue;
    out.push({ index, srcPort, dstPort, data: Buffer.from(data) });
  }
  return out;
}
