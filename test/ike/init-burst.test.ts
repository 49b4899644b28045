// Issue acceptance (overload): an unpaced burst of 2,000 IKE_SA_INITs from one in-process peer to another
// completes without a single retransmit. The harness needs no receive queue in between: its wire is an unbounded
// in-memory queue, so nothing can be dropped the way the kernel dropped the UDP burst (that part is
// test/net/receive-queue.test.ts). What this proves is that the daemon itself keeps up: the test clock moves on by
// the real time the processing took, so a daemon too slow for the 4 s first retransmit timeout would retransmit.
import { describe, expect, it } from 'vitest';
import { makePair } from '../helpers/peers.js';

const N = 2000;

describe('burst of IKE_SA_INITs', () => {
  // 2 x 2,000 setups in one process take 20-30 s on a quiet 2-core VM, over a minute on a loaded one
  it(`${N} IKE_SA_INITs from one peer complete without a retransmit`, { timeout: 240_000 }, async () => {
    // One source address stands for 2,000 initiators here: charon's per-address COOKIE and block thresholds would
    // (rightly) stop it, so they are off; cheap x25519 keeps the test short.
    const dos = '  cookie_threshold: 0\n  cookie_threshold_ip: 0\n  block_threshold: 0\n';
    const p = makePair({
      retransmit: { timeout: 4, base: 1.8, tries: 5 },
      levels: { default: 0 },
      a: { proposals: ['aes128-sha256-x25519'], extraDaemon: dos },
      b: { proposals: ['aes128-sha256-x25519'], extraDaemon: dos },
    });
    p.a.daemon.ops.initiateMany('demo', 'net', N, 0);
    let last = performance.now();
    for (let round = 0; round < 1000 && (p.queue.length || p.clock.armed); round++) {
      p.deliverAll(N * 10);
      const now = performance.now();
      p.clock.advance(Math.max(1, Math.round(now - last)));
      last = now;
      if (p.a.sas().filter((s) => s.state === 'ESTABLISHED').length === N && !p.queue.length) break;
    }
    const a = p.a.sas();
    expect(a.filter((s) => s.state === 'ESTABLISHED')).toHaveLength(N);
    expect(p.b.sas().filter((s) => s.state === 'ESTABLISHED')).toHaveLength(N);
    expect(a.reduce((n, s) => n + s.counters.retransmits, 0)).toBe(0);
    expect(p.b.sas().reduce((n, s) => n + s.counters.retransmits, 0)).toBe(0);
    // IKE_SA_INIT + IKE_AUTH, each way, once per SA
    expect(p.sent).toHaveLength(4 * N);
    // nothing was refused or answered from the response cache on the way (a retransmit the peer saw as one)
    expect(p.b.daemon.dispatcher.counters).toMatchObject({
      cookiesSent: 0,
      halfOpenRefused: 0,
      handlerErrors: 0,
      malformed: 0,
      unknownSpi: 0,
    });
    expect(p.b.sas().reduce((n, s) => n + s.counters.responsesRetransmitted + s.counters.dropped, 0)).toBe(0);
    const t0 = performance.now();
    await p.stop();
    // not a timing assertion (CI machines vary); the counted proof is test/ipsec/sad-scaling.test.ts
    console.log(`stop() of ${N} + ${N} IKE_SAs: ${(performance.now() - t0).toFixed(0)} ms`);
  });
});
