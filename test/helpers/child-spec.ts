// Test helper: a ChildSaSpec for tests that install CHILD_SAs straight into the SAD, without an IKE exchange, and
// the traffic selectors for it. One builder so the SAD tests agree on what a plain SA looks like; a test overrides
// only the fields it is about (selectors, name, outboundActive, suite).
import { zeroCounters, type ChildSaSpec } from '../../src/ipsec/backend.js';
import { ipBytes } from '../../src/ipsec/packets.js';
import { Encr } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';

/** A selector for the range a..b (one address by default), IPv4 or IPv6 by the form of a; all protocols and ports by default. */
export const ts = (a: string, b = a, ipProtocol = 0, startPort = 0, endPort = 0xffff): TrafficSelector => ({
  tsType: a.includes(':') ? 8 : 7,
  ipProtocol,
  startPort,
  endPort,
  startAddr: ipBytes(a),
  endAddr: ipBytes(b),
});

/**
 * CHILD_SA `id`: AES-GCM, SPIs derived from the id (ours 0x10000000 + id, so SPIs never collide), local selector
 * 10.1.0.0/24, remote selector and peer address of its own (10.128.x.y and 10.99.x.y from the id's low 16 bits),
 * outbound side active. Every call makes new buffers and arrays: nothing is shared between two specs unless o says so.
 */
export function childSpec(id: number, o: Partial<ChildSaSpec> = {}): ChildSaSpec {
  const spiIn = Buffer.alloc(4);
  spiIn.writeUInt32BE(0x10000000 + id);
  const spiOut = Buffer.alloc(4);
  spiOut.writeUInt32BE(0x20000000 + id);
  return {
    id,
    reqid: id,
    name: 'net',
    connection: 'bar',
    spiIn,
    spiOut,
    suite: { encr: Encr.AES_GCM_16, encrKeyBits: 128, esn: false },
    keys: { encrIn: Buffer.alloc(20, 1), integIn: Buffer.alloc(0), encrOut: Buffer.alloc(20, 2), integOut: Buffer.alloc(0) },
    dhGroup: 0,
    localTs: [ts('10.1.0.0', '10.1.0.255')],
    remoteTs: [ts(`10.128.${(id >> 8) & 0xff}.${id & 0xff}`)],
    local: { address: '10.98.0.2', port: 4500 },
    remote: { address: `10.99.${(id >> 8) & 0xff}.${id & 0xff}`, port: 4500 },
    encap: true,
    outboundActive: true,
    replayWindow: 32,
    hostAddrs: [],
    counters: zeroCounters(),
    ...o,
  };
}
