// `load` says what it changes for existing SAs (src/ops/reload.ts): per connection and child added, removed or
// changed (which keys, swanctl paths), and what happens to the live SAs. Without --apply-to-rekey a live CHILD_SA
// rekeys with its old settings; with it, the CHILD_SAs of a changed child take the new child config at their next
// rekey (traffic selectors stay as negotiated).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { controlCall } from '../../src/control/client.js';
import { formatLoadReport } from '../../src/ops/reload.js';
import { makePair, type Pair, type PeerOptions, peerYaml } from '../helpers/peers.js';
import { rig } from './helpers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

/** A's config with these settings, as `load` would read it. */
const configA = (o: PeerOptions, edit = (y: string) => y) => parseConfig(edit(peerYaml('A', o)), 'demo-a.yaml');

/**
 * B accepts both ESP proposals and prefers aes128gcm16 (a responder picks by its own order, as charon), A starts
 * with aes256gcm16 only: a change of A's proposals is visible in what B selects.
 */
function established(): Pair {
  const p = (pair = makePair({ b: { espProposals: ['aes128gcm16', 'aes256gcm16'] } }));
  p.establish();
  expect(p.a.children().filter((c) => c.state === 'INSTALLED')).toHaveLength(1);
  return p;
}

function rekeyAndSelected(p: Pair): string[] {
  p.a.sink.clear();
  p.b.sink.clear();
  p.a.daemon.ops.rekey(undefined, 'net');
  p.deliverAll();
  return p.b.sink.messages().filter((l) => l.startsWith('selected proposal: ESP:'));
}

describe('load: the diff', () => {
  test('a changed child: its keys as swanctl paths, what its live CHILD_SA does; unchanged parts not listed', () => {
    const p = established();
    const child = p.a.children()[0]!;
    const r = p.a.daemon.ops.reload(configA({ espProposals: ['aes128gcm16'] }));
    expect(r).toEqual({
      applyToRekey: false,
      changes: [
        {
          path: 'connections.demo.children.net',
          kind: 'changed',
          keys: ['connections.demo.children.net.esp_proposals'],
          live: [`CHILD_SA ${child.label} rekeys with its old settings until re-established (load --apply-to-rekey changes that)`],
        },
      ],
    });
    expect(formatLoadReport(r)).toBe(
      [
        'connections.demo.children.net: changed connections.demo.children.net.esp_proposals',
        `  CHILD_SA ${child.label} rekeys with its old settings until re-established (load --apply-to-rekey changes that)`,
      ].join('\n'),
    );
  });

  test('connection keys, added and removed children and connections, secrets (names only), daemon keys', () => {
    const p = established();
    const ike = p.a.sa();
    const next = configA({ proposals: ['aes128-sha256-modp3072'], dpdDelay: 30, psk: 'another-secret' }, (y) =>
      y
        .replace('      net:\n', '      web:\n')
        .replace('  port: 15000', '  port: 15002')
        .replace(
          'connections:\n',
          'connections:\n  extra:\n    remote_addrs: [10.9.9.9]\n    children:\n      c1:\n        start_action: start\n',
        ),
    );
    const r = p.a.daemon.ops.reload(next);
    expect(formatLoadReport(r)).toBe(
      [
        'connections.extra: added',
        '  start_action start is not acted on by load: ikelab initiate --child c1',
        // local_port defaults to daemon.port, which changed too
        'connections.demo: changed connections.demo.local_port, connections.demo.proposals, connections.demo.dpd_delay',
        `  IKE_SA ${ike.label} keeps its settings, rekeys included, until re-established`,
        'connections.demo.children.net: removed',
        `  CHILD_SA ${ike.children[0]!.label} stays up with the removed settings, rekeys included, until it ends`,
        'connections.demo.children.web: added',
        'secrets: changed secrets.ike-demo',
        '  used by the next authentication; established IKE_SAs are not re-authenticated',
        'daemon: changed daemon.port',
        '  daemon.port: the running daemon keeps the old value until restarted',
      ].join('\n'),
    );
    expect(JSON.stringify(r)).not.toContain('another-secret');
    // the live SAs did not change
    expect(ike.config.proposalTexts).toEqual(['aes256-sha256-modp2048']);
    expect(p.a.sa()).toBe(ike);
  });

  test('the same config again: no changes', () => {
    const p = established();
    const r = p.a.daemon.ops.reload(configA({}));
    expect(r.changes).toEqual([]);
    expect(formatLoadReport(r)).toBe('no changes to connections, children, secrets or daemon settings');
  });
});

describe('load --apply-to-rekey', () => {
  test('without it a CHILD_SA rekey keeps the old proposal; with it the next rekey uses the new one', () => {
    const p = established();
    expect(rekeyAndSelected(p)).toEqual(['selected proposal: ESP:AES_GCM_16_256/NO_EXT_SEQ']);

    p.a.daemon.ops.reload(configA({ espProposals: ['aes128gcm16'] }));
    expect(rekeyAndSelected(p)).toEqual(['selected proposal: ESP:AES_GCM_16_256/NO_EXT_SEQ']);

    const child = p.a.children().find((c) => c.state === 'INSTALLED')!;
    const r = p.a.daemon.ops.reload(configA({ espProposals: ['aes128gcm16'], remoteTs: ['10.202.0.0/16'] }), { applyToRekey: true });
    expect(r.changes).toEqual([
      {
        path: 'connections.demo.children.net',
        kind: 'changed',
        keys: ['connections.demo.children.net.remote_ts'],
        live: [`CHILD_SA ${child.label} keeps remote_ts as negotiated until re-established`],
      },
    ]);
    // only the traffic selectors differ from the last load: nothing for the rekey to take
    expect(child.rekeyConfig).toBeUndefined();
    const r2 = p.a.daemon.ops.reload(configA({ espProposals: ['aes128gcm16', 'aes256gcm16'] }), { applyToRekey: true });
    expect(r2.changes[0]!.live).toEqual([
      `CHILD_SA ${child.label} takes the new esp_proposals at its next rekey; keeps remote_ts as negotiated until re-established`,
    ]);
    expect(rekeyAndSelected(p)).toEqual(['selected proposal: ESP:AES_GCM_16_128/NO_EXT_SEQ']);
    const fresh = p.a.children().find((c) => c.state === 'INSTALLED')!;
    expect(fresh).not.toBe(child);
    expect(fresh.config.espProposalTexts).toEqual(['aes128gcm16', 'aes256gcm16']);
    // the TS stayed as negotiated
    expect(p.a.sink.has(/TS 10\.201\.0\.0\/24 === 10\.202\.0\.0\/24/)).toBe(true);
  });

  test('a peer-started rekey of such a CHILD_SA is answered with the new proposals too', () => {
    const p = (pair = makePair({ a: { espProposals: ['aes256gcm16', 'aes128gcm16'] } }));
    p.establish();
    // B rekeys offering aes256gcm16 only: A accepts it as configured, refuses it once it applied aes128gcm16
    p.a.daemon.ops.reload(configA({ espProposals: ['aes128gcm16'] }), { applyToRekey: true });
    p.b.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(p.a.sink.messages()).toContain('no acceptable proposal found');
    expect(p.a.sink.messages()).toContain('configured proposals: ESP:AES_GCM_16_128/NO_EXT_SEQ');
  });
});

test('control socket: load --apply-to-rekey replies with the changes', async () => {
  const r = await rig();
  try {
    const file = join(r.dir, 'next.yaml');
    writeFileSync(file, peerYaml('A', { espProposals: ['aes128gcm16'] }), { mode: 0o600 });
    const reply = await controlCall(r.sock, 'load', { config: file, 'apply-to-rekey': true });
    expect(reply).toEqual({
      loaded: file,
      connections: ['demo'],
      applyToRekey: true,
      changes: [
        {
          path: 'connections.demo.children.net',
          kind: 'changed',
          keys: ['connections.demo.children.net.esp_proposals'],
          live: [],
        },
      ],
    });
  } finally {
    await r.done();
  }
});
