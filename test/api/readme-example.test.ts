// README "Use ikelab from TypeScript": the example between the region markers is the README's code block, with
// one difference: it imports the source (../../src/api.js) where the README imports the package ('ikelab'). The
// last test compares the two, so the documented example is always one that runs and passes.
// #region readme
import { afterEach, beforeEach, expect, test } from 'vitest';
import { type IkelabEvent, type Peer, startPeer } from '../../src/api.js';

// Two peers on loopback addresses, unprivileged ports (no root). The config is an object in the YAML's shape
// (swanctl names); a path to a YAML file or the YAML text work as well.
function peerConfig(me: string, peer: string, localTs: string, remoteTs: string) {
  return {
    daemon: { listen: [me], port: 16200, natt_port: 16201, retransmit: { timeout: 1, base: 1.4, tries: 2 } },
    connections: {
      demo: {
        local_addrs: [me],
        remote_addrs: [peer],
        remote_port: 16200,
        proposals: ['aes256-sha256-modp2048'],
        local: { auth: 'psk', id: me },
        remote: { auth: 'psk', id: peer },
        children: { net: { local_ts: [localTs], remote_ts: [remoteTs], esp_proposals: ['aes256gcm16'] } },
      },
    },
    secrets: { 'ike-demo': { id: [me, peer], secret: 'ikelab-demo-secret' } },
  };
}

let a: Peer;
let b: Peer;

beforeEach(async () => {
  a = await startPeer(peerConfig('127.0.0.41', '127.0.0.42', '10.201.0.0/24', '10.202.0.0/24'));
  b = await startPeer(peerConfig('127.0.0.42', '127.0.0.41', '10.202.0.0/24', '10.201.0.0/24'), { log: 'silent' });
});

afterEach(async () => {
  await a?.stop();
  await b?.stop();
});

test('the tunnel comes up and goes down, with the events in order', async () => {
  const seen: string[] = [];
  const note = (e: IkelabEvent) => seen.push(`${e.event} ${e.child ?? e.ike}`);
  a.on('ike.', note); // a family prefix; also 'ike.*', an exact name, or '*'
  a.on('child.', note);

  const up = await a.initiate('net'); // resolves when the CHILD_SA is installed
  expect(up.ike).toMatchObject({ name: 'demo', state: 'ESTABLISHED', initiator: true });
  expect(up.child).toMatchObject({ name: 'net', state: 'INSTALLED', localTs: ['10.201.0.0/24'] });
  expect(seen).toEqual(['ike.initiating demo', 'ike.established demo', 'child.established net']);
  expect(b.listSas()[0]?.children[0]?.state).toBe('INSTALLED');

  const deleted = b.waitFor('ike.deleted', { match: { direction: 'in' }, timeoutMs: 5000 });
  await a.terminate({ ike: 'demo' }); // resolves when the IKE_SA is gone
  expect(await deleted).toMatchObject({ ike: 'demo' });
  expect(seen.slice(3)).toEqual(['ike.deleted demo', 'ike.destroyed demo']);
});

test('a fault: B loses the first IKE_AUTH request, A retransmits and still gets the tunnel', async () => {
  b.fault.add('lose-auth', { match: { exchange: 'IKE_AUTH', dir: 'in', request: true }, action: 'drop', count: 1 });
  const retransmit = a.waitFor('message.retransmitted', { match: { exchange: 'IKE_AUTH' } });
  await a.initiate('net');
  expect(await retransmit).toMatchObject({ n: 1 });
  expect(b.fault.list()).toMatchObject([{ name: 'lose-auth', fired: 1, state: 'spent' }]);
  b.fault.clear('lose-auth');
});

test('a wrong PSK for one initiation is refused with AUTHENTICATION_FAILED', async () => {
  await expect(a.initiate({ child: 'net', psk: 'not-the-secret' })).rejects.toMatchObject({ notify: 'AUTHENTICATION_FAILED' });
  expect(a.listSas()).toEqual([]);
  // the override was for that initiation only: the configured secret still works
  await expect(a.initiate('net')).resolves.toMatchObject({ child: { state: 'INSTALLED' } });
});
// #endregion readme

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

test("README's example is this file's marked region", () => {
  const root = join(__dirname, '..', '..');
  const self = readFileSync(join(root, 'test', 'api', 'readme-example.test.ts'), 'utf8');
  const region = self.slice(self.indexOf('// #region readme\n') + '// #region readme\n'.length, self.indexOf('// #endregion readme'));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use ikelab from TypeScript'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block).toBe(region.replace("from '../../src/api.js'", "from 'ikelab'"));
});
