// `ikelab fault add|list|clear|impair` and the `--mode` shorthand as a user runs them (node dist/cli.js --socket),
// against a daemon in this process behind a real control socket; and the control verb's replies and errors.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { rig, type Rig } from '../control/helpers.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

let r: Rig;
beforeEach(async () => {
  r = await rig();
});
afterEach(async () => {
  await r.done();
});

/** Run the CLI asynchronously (the daemon answering it lives in this process's event loop). */
function ikelab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args, '--socket', r.sock], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('ikelab fault (CLI)', () => {
  test('add, list (text and --json, with fired counts), clear one, clear all', async () => {
    const add = await ikelab(
      'fault',
      'add',
      'dpd-loss',
      '--match',
      'exchange=INFORMATIONAL,dir=in,request,empty,prob=0.3,seed=42,ike=demo',
      '--action',
      'drop',
      '--count',
      '3',
    );
    expect(add).toMatchObject({ code: 0, stderr: '' });
    expect(add.stdout).toBe(
      "fault rule 'dpd-loss' added: --match ike=demo,dir=in,exchange=INFORMATIONAL,request,empty,prob=0.3,seed=42 --action drop --count 3\n",
    );
    expect((await ikelab('fault', 'add', '--match', 'dir=out', '--action', 'duplicate=2,gap=1s')).stdout).toMatch(
      /^fault rule 'f1' added: /,
    );

    const list = await ikelab('fault', 'list');
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+FIRED\s+SEEN\s+RULE$/);
    expect(lines[1]).toMatch(/^dpd-loss\s+active\s+0\s+0\s+--match ike=demo,.* --action drop --count 3$/);
    expect(lines[2]).toMatch(/^f1\s+active\s+0\s+0\s+--match dir=out --action duplicate=2,gap=1s$/);
    const json = JSON.parse((await ikelab('fault', 'list', '--json')).stdout);
    expect(json).toEqual([
      expect.objectContaining({ name: 'dpd-loss', state: 'active', fired: 0, seen: 0, count: 3, action: { type: 'drop' } }),
      expect.objectContaining({ name: 'f1', fired: 0, action: { type: 'duplicate', copies: 2, gapMs: 1000 } }),
    ]);

    expect((await ikelab('fault', 'clear', 'dpd-loss')).stdout).toBe("cleared fault rule 'dpd-loss'\n");
    expect((await ikelab('fault', 'clear')).stdout).toBe("cleared fault rule 'f1'\n");
    expect((await ikelab('fault', 'list')).stdout).toBe('no fault rules\n');
    // the daemon's log has each change
    const cfg = r.sink.lines().filter((l) => l.includes('[CFG] fault rule'));
    expect(cfg).toEqual([
      expect.stringContaining("fault rule 'dpd-loss' added: --match ike=demo"),
      expect.stringContaining("fault rule 'f1' added: --match dir=out --action duplicate=2,gap=1s"),
      "00[CFG] fault rule 'dpd-loss' cleared",
      "00[CFG] fault rule 'f1' cleared",
    ]);
  });

  test('impair: libreswan names become rules, all or none', async () => {
    const ok = await ikelab('fault', 'impair', 'drop-incoming:3', 'jacob-two-two');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(
      [
        "fault rule 'impair:drop-incoming:3' added: --match dir=in,retransmit=no,nth=3 --action drop",
        "fault rule 'impair:jacob-two-two' added: --match dir=out --action duplicate,gap=500ms",
        '',
      ].join('\n'),
    );
    const bad = await ikelab('fault', 'impair', 'suppress-retransmits', 'drop-incomming:1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^ikelab: impair: expected one of .*got unknown impair "drop-incomming" \(did you mean "drop-incoming"\?\)/);
    // nothing of the refused list went in
    expect(r.daemon.faults.list().map((x) => x.name)).toEqual(['impair:drop-incoming:3', 'impair:jacob-two-two']);
  });

  test('errors name the option and key, and nothing is added', async () => {
    const e1 = await ikelab('fault', 'add', 'x', '--match', 'exchnage=INFORMATIONAL', '--action', 'drop');
    expect(e1.code).toBe(1);
    expect(e1.stderr).toBe(
      'ikelab: --match: expected one of proto, ike, ike-id, child, dir, exchange, request, response, mid, payload, notify, empty, retransmit, nth, after, for, prob, seed, got unknown key "exchnage" (did you mean "exchange"?)\n',
    );
    const e2 = await ikelab('fault', 'add', 'x', '--match', 'ike=nope', '--action', 'drop');
    expect(e2.stderr).toBe("ikelab: no connection named 'nope' (configured: demo)\n");
    const e3 = await ikelab('fault', 'add', 'x', '--match', 'dir=in');
    expect(e3.stderr).toMatch(/^ikelab: fault add needs --action ACTION\n/);
    const e4 = await ikelab('fault', 'clear', 'nope');
    expect(e4.stderr).toBe("ikelab: no fault rule named 'nope'\n");
    const e6 = await ikelab('fault', 'add', '--match', 'proto=esp', '--action', 'drop');
    expect(e6.stderr).toMatch(/^ikelab: ESP rules act in the userspace ESP engine only/);
    const e5 = await ikelab('fault', 'frobnicate');
    expect(e5.stderr).toMatch(/^ikelab: unknown fault verb 'frobnicate'/);
    expect(r.daemon.faults.list()).toEqual([]);
    // other verbs still refuse extra words
    expect((await ikelab('list-sas', 'extra')).stderr).toMatch(/^ikelab: list-sas: unexpected argument 'extra'/);
  });

  test('--mode shorthand keeps working: silent, delay, normal', async () => {
    expect((await ikelab('fault', '--mode', 'silent', '--ike', 'demo')).stdout).toBe('{"fault":"silent for demo"}\n');
    expect((await ikelab('fault', '--mode', 'delay', '--ms', '400')).stdout).toBe('{"fault":"delay 400 ms"}\n');
    expect(r.daemon.faults.list().map((x) => x.name)).toEqual(['mode:silent', 'mode:delay']);
    expect((await ikelab('fault', '--mode', 'normal')).stdout).toBe('{"fault":"normal"}\n');
    expect(r.daemon.faults.list()).toEqual([]);
  });
});

describe('control verb fault', () => {
  test('op add / list / clear / impair over the socket', async () => {
    const added = (await controlCall(r.sock, 'fault', {
      op: 'add',
      name: 'a',
      match: 'dir=out,exchange=CREATE_CHILD_SA,request',
      action: 'ke=group:19',
      count: '1',
    })) as { added: { name: string; text: string }[] };
    expect(added.added.map((x) => x.text)).toEqual(['--match dir=out,exchange=CREATE_CHILD_SA,request --action ke=group:19 --count 1']);
    await expect(controlCall(r.sock, 'fault', { op: 'impair', items: ['send-no-delete'] })).resolves.toMatchObject({
      added: [{ name: 'impair:send-no-delete' }],
    });
    await expect(controlCall(r.sock, 'fault', { op: 'list' })).resolves.toHaveLength(2);
    await expect(controlCall(r.sock, 'fault', { op: 'add', name: 'a', action: 'drop' })).rejects.toThrow(
      "a fault rule named 'a' exists; clear it first or pick another name",
    );
    await expect(controlCall(r.sock, 'fault', { op: 'add', action: 'ke=group:19', match: 'exchange=IKE_AUTH' })).rejects.toThrow(
      /^--match exchange: expected IKE_SA_INIT or CREATE_CHILD_SA for ke/,
    );
    await expect(controlCall(r.sock, 'fault', { op: 'clear' })).resolves.toEqual({ cleared: ['a', 'impair:send-no-delete'] });
    await expect(controlCall(r.sock, 'fault', { mode: 'loud' })).rejects.toThrow('fault needs --mode silent|delay|normal');
  });
});

test('the CLI usage lists the fault verbs', async () => {
  const out = await new Promise<string>((resolve) => execFile(process.execPath, [cli, 'help'], (_e, stdout) => resolve(stdout)));
  for (const v of [
    'fault add [NAME] --match CRITERIA --action ACTION [--count N]',
    'fault list [--json]',
    'fault clear [NAME]',
    'fault impair WHAT[:HOW]',
    'fault --mode silent|delay|normal',
  ])
    expect(out).toContain(v);
});
