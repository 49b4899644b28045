// `ikelab initiate ... --psk --proposals --esp-proposals --local-ts --remote-ts` and `ikelab load --apply-to-rekey`
// as a user runs them: bad override values are refused before any daemon is asked (exit 2, naming the flag), the
// control verb refuses them too, valid ones reach the daemon; load prints what changed.
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { peerYaml } from '../helpers/peers.js';
import { rig } from '../control/helpers.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const noDaemon = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args, '--socket', '/nonexistent/ikelab.sock'], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stderr: r.stderr };
};
/** The CLI against an in-process daemon: asynchronous, so this process can answer on the control socket. */
const run = async (...args: string[]) => {
  try {
    const r = await promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};

describe('initiate overrides on the command line', () => {
  test.each([
    [['--esp-proposals', 'bogus'], /^ikelab: invalid --esp-proposals: expected .*unknown algorithm keyword "bogus"/],
    [['--proposals', 'aes128-sha256'], /^ikelab: invalid --proposals: expected .*DH group is mandatory/],
    [['--local-ts', '10.1.0.0/99'], /^ikelab: invalid --local-ts: expected a traffic selector/],
    [['--remote-ts', 'nonsense'], /^ikelab: invalid --remote-ts: /],
    [['--psk', '0xzz'], /^ikelab: invalid --psk: /],
  ])('%j: exit 2, naming the flag, before any daemon is asked', (flags, message) => {
    const r = noDaemon('initiate', '--child', 'net', ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('an override without a value, or with another verb: refused', () => {
    const bare = noDaemon('initiate', '--child', 'net', '--psk');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('ikelab: --psk needs a value');
    const rekey = noDaemon('rekey', '--child', 'net', '--esp-proposals', 'aes128gcm16');
    expect(rekey.code).toBe(2);
    expect(rekey.stderr).toContain("ikelab: rekey: unknown option '--esp-proposals'");
  });

  test('valid overrides pass the CLI (and then find no daemon)', () => {
    const r = noDaemon(
      'initiate',
      '--child',
      'net',
      '--psk',
      'wrong',
      '--proposals',
      'aes128-sha256-modp2048,aes256gcm16-prfsha256-ecp256',
      '--esp-proposals',
      'aes128gcm16',
      '--local-ts',
      '10.1.0.0/24,10.2.0.1',
      '--remote-ts',
      'dynamic',
    );
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain('invalid');
  });

  test('the control verb: a bad value is refused naming the flag; a valid one starts an IKE_SA with it', async () => {
    const r = await rig();
    try {
      await expect(controlCall(r.sock, 'initiate', { child: 'net', 'esp-proposals': 'bogus' })).rejects.toThrow(
        /^invalid --esp-proposals: /,
      );
      await expect(controlCall(r.sock, 'initiate', { child: 'net', psk: true })).rejects.toThrow('--psk needs a value');
      const reply = await controlCall(r.sock, 'initiate', { child: 'net', psk: 'wrong', 'esp-proposals': 'aes128gcm16' });
      expect(reply).toEqual({ ike: 'demo', uniqueId: 1, state: 'CONNECTING' });
      expect(r.sink.lines().join('\n')).toContain(
        'initiating demo[1] with overrides for this IKE_SA only: psk (given on the command line), esp_proposals aes128gcm16',
      );
      expect(r.daemon.config.connections[0]!.children[0]!.espProposalTexts).toEqual(['aes256gcm16']);
    } finally {
      await r.done();
    }
  });

  test('through the CLI to a daemon: the reply as JSON', async () => {
    const r = await rig();
    try {
      // --no-wait: the daemon's reply at once (the rig's clock is manual and its peer absent: nothing settles)
      const out = await run('initiate', '--child', 'net', '--remote-ts', '10.99.0.0/24', '--no-wait', '--socket', r.sock);
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ ike: 'demo', uniqueId: 1, state: 'CONNECTING' });
    } finally {
      await r.done();
    }
  });
});

describe('load on the command line', () => {
  test('prints what changed and what happens to live SAs; --apply-to-rekey takes no value', async () => {
    const r = await rig();
    try {
      const file = join(r.dir, 'next.yaml');
      writeFileSync(file, peerYaml('A', { espProposals: ['aes128gcm16'] }), { mode: 0o600 });
      const out = await run('load', '--apply-to-rekey', '--config', file, '--socket', r.sock);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toBe(
        `loaded ${file}: connections demo\nconnections.demo.children.net: changed connections.demo.children.net.esp_proposals\n`,
      );
      const again = await run('load', '--config', file, '--socket', r.sock, '--json');
      expect(JSON.parse(again.stdout)).toEqual({ loaded: file, connections: ['demo'], changes: [], applyToRekey: false });
    } finally {
      await r.done();
    }
  });
});
