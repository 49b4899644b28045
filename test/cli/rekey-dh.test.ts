// `ikelab rekey --child NAME --dh none|GROUP` as a user runs it: an invalid --dh value is refused before any
// daemon is asked (exit 2, a message naming the accepted forms); the control verb refuses one too.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { dhChoiceForms, parseDhChoice } from '../../src/config/dh-choice.js';
import { controlCall } from '../../src/control/client.js';
import { rig } from '../control/helpers.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ikelab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args, '--socket', '/nonexistent/ikelab.sock'], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stderr: r.stderr };
};

describe('rekey --dh', () => {
  test('the accepted forms: none, strongSwan keywords, IANA numbers of groups ikelab computes', () => {
    expect(parseDhChoice('none')).toBe(0);
    expect(parseDhChoice('modp2048')).toBe(14);
    expect(parseDhChoice('ecp256')).toBe(19);
    expect(parseDhChoice('14')).toBe(14);
    expect(parseDhChoice('19')).toBe(19);
    expect(parseDhChoice('curve25519')).toBe(31);
    for (const bad of ['bogus', '', '0', '999', 'aes256', 'sha256', 'modp1024s160']) expect(parseDhChoice(bad)).toBeUndefined();
    expect(dhChoiceForms()).toMatch(/^none, or a DH group by name or number: .*modp2048 \(14\).*ecp256 \(19\)/);
  });

  test('--dh bogus: exit 2, naming the accepted forms, before any daemon is asked', () => {
    const r = ikelab('rekey', '--child', 'net', '--dh', 'bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ikelab: invalid --dh 'bogus': use ${dhChoiceForms()}`);
  });

  test('--dh without a value, or with --ike: refused', () => {
    expect(ikelab('rekey', '--child', 'net', '--dh').code).toBe(2);
    const r = ikelab('rekey', '--ike', 'demo', '--dh', 'none');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--dh goes with rekey --child NAME only');
  });

  test('a valid --dh passes the CLI (and then finds no daemon)', () => {
    const r = ikelab('rekey', '--child', 'net', '--dh', 'modp2048');
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain('invalid --dh');
  });

  test('the control verb refuses an invalid dh too, and dh with --ike', async () => {
    const r = await rig();
    try {
      await expect(controlCall(r.sock, 'rekey', { child: 'net', dh: 'bogus' })).rejects.toThrow(
        `invalid --dh 'bogus': use ${dhChoiceForms()}`,
      );
      await expect(controlCall(r.sock, 'rekey', { ike: 'demo', dh: 'none' })).rejects.toThrow('rekey --dh needs --child NAME');
      // a valid one reaches Daemon.rekey: nothing established here
      await expect(controlCall(r.sock, 'rekey', { child: 'net', dh: 'ecp256' })).rejects.toThrow("no installed CHILD_SA named 'net' found");
    } finally {
      await r.done();
    }
  });
});
