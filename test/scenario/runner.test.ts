// The runner's verdicts against a fake control endpoint (events on demand, recorded calls), then once end to end
// over a real control socket (watch, config, fault verbs of a daemon without network).
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NoDaemonError, type WatchHandle } from '../../src/control/client.js';
import type { EventFields, IkelabEvent } from '../../src/log/events.js';
import type { Logger } from '../../src/log/logger.js';
import { parseScenario } from '../../src/scenario/format.js';
import { type ControlPort, runScenario } from '../../src/scenario/runner.js';
import { rig, type Rig, until } from '../control/helpers.js';

type Handler = (args: Record<string, unknown>, port: FakePort) => unknown;

class FakePort implements ControlPort {
  readonly calls: { cmd: string; args: Record<string, unknown> }[] = [];
  private listeners: ((e: IkelabEvent) => void)[] = [];
  private endWatch: (e: Error | undefined) => void = () => {};
  sas: unknown[] = [];
  constructor(private readonly handlers: Record<string, Handler> = {}) {}
  emit(f: EventFields): void {
    const e = { time: new Date().toISOString(), ...f } as IkelabEvent;
    for (const l of this.listeners) l(e);
  }
  later(ms: number, f: EventFields): void {
    setTimeout(() => this.emit(f), ms);
  }
  dropWatch(): void {
    this.endWatch(new Error('gone'));
  }
  async call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    this.calls.push({ cmd, args });
    const h = this.handlers[cmd];
    if (h) return h(args, this);
    switch (cmd) {
      case 'config':
        return { file: 'x.yaml', connections: [{ name: 'bar', children: ['net', 'net2'] }] };
      case 'list-sas':
        return this.sas;
      case 'fault':
        if (args.op === 'add') return { added: [{ name: args.name ?? 'rule-1', text: `--action ${args.action}` }] };
        return { cleared: args.name ? [args.name] : [] };
      default:
        return { ok: cmd };
    }
  }
  async watch(_args: Record<string, unknown>, onEvent: (e: IkelabEvent) => void): Promise<WatchHandle> {
    this.listeners.push(onEvent);
    const ended = new Promise<Error | undefined>((r) => (this.endWatch = r));
    return {
      close: () => {
        this.listeners = this.listeners.filter((l) => l !== onEvent);
        this.endWatch(undefined);
      },
      ended,
    };
  }
}

const sc = (steps: string, head = 'params: { conn: auto, child: auto }\n') => parseScenario(`${head}steps:\n${steps}`, 't.yaml');
const run = async (text: string, port: FakePort, more: Parameters<typeof runScenario>[1] = {}) => {
  const lines: string[] = [];
  const r = await runScenario(sc(text), { port, out: (l) => lines.push(l), pollMs: 10, ...more });
  return { r, lines };
};

describe('verdicts', () => {
  test('expect passes when the event arrives; auto params come from the daemon config; one line per step', async () => {
    const port = new FakePort({
      initiate: (_a, p) => {
        p.later(80, { event: 'ike.established', ike: 'bar', ikeId: 1 });
        return { ike: 'bar', uniqueId: 1, state: 'CONNECTING' };
      },
    });
    const { r, lines } = await run(
      '  - initiate: { child: $child }\n  - expect: { event: ike.established, within: 2s, match: { ike: $conn } }\n',
      port,
    );
    expect(r).toMatchObject({ scenario: 't', passed: true, exitCode: 0, params: { conn: 'bar', child: 'net' } });
    expect(port.calls.find((c) => c.cmd === 'initiate')!.args).toEqual({ child: 'net' });
    expect(r.steps.map((s) => [s.kind, s.verdict])).toEqual([
      ['initiate', 'PASS'],
      ['expect', 'PASS'],
    ]);
    expect(r.steps[1]!.events![0]).toMatchObject({ event: 'ike.established', ike: 'bar' });
    expect(r.steps[1]!.at).toBeGreaterThanOrEqual(0.07);
    expect(lines[0]).toBe('scenario t (conn=bar child=net)');
    expect(lines[2]).toMatch(/^\[\+\d+\.\d{3}s\] PASS expect ike\.established: ike\.established bar\[1\]$/);
    expect(lines.at(-1)).toMatch(/^\[\+\d+\.\d{3}s\] PASSED t: 2 passed, 0 failed$/);
  });

  test('expect fails after within, says what it saw instead; later steps are skipped; exit 1', async () => {
    const port = new FakePort({
      initiate: (_a, p) => {
        p.emit({ event: 'ike.failed', ike: 'bar', notify: 'NO_PROPOSAL_CHOSEN' });
        return {};
      },
    });
    const t0 = Date.now();
    const { r } = await run(
      '  - initiate: net\n  - expect: { event: ike.failed, within: 300ms, match: { notify: AUTHENTICATION_FAILED } }\n  - sleep: 5s\n',
      port,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r).toMatchObject({ passed: false, exitCode: 1 });
    expect(r.steps[1]).toMatchObject({ verdict: 'FAIL' });
    expect(r.steps[1]!.detail).toContain('no ike.failed (notify=AUTHENTICATION_FAILED) within 300ms');
    expect(r.steps[1]!.detail).toContain('notify=NO_PROPOSAL_CHOSEN');
    expect(r.steps[2]).toMatchObject({ kind: 'sleep', verdict: 'SKIP' });
  });

  test('cursor: an event during the previous step counts, one before it does not (unless since: start)', async () => {
    const port = new FakePort({
      rekey: (_a, p) => {
        p.emit({ event: 'child.rekey-failed', child: 'net', notify: 'NO_PROPOSAL_CHOSEN' }); // before the reply
        return { rekeying: 1 };
      },
      terminate: (_a, p) => {
        p.emit({ event: 'ike.deleted', ike: 'bar', direction: 'out' });
        return { terminated: 1 };
      },
    });
    const ok = await run('  - rekey: { child: net, dh: none }\n  - expect: { event: child.rekey-failed, within: 100ms }\n', port);
    expect(ok.r.passed).toBe(true);
    // the terminate two steps back: not seen by default, seen with since: start
    const steps =
      '  - terminate: { ike: bar }\n  - sleep: 10ms\n  - expect: { event: ike.deleted, within: 100ms, since: start }\n' +
      '  - expect: { event: ike.deleted, within: 100ms }\n';
    const { r } = await run(steps, port);
    expect(r.steps.map((s) => s.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'FAIL']);
  });

  test('expect-not: fails at once on a match, passes when the window ends quietly', async () => {
    const port = new FakePort();
    port.later(50, { event: 'ike.established', ike: 'other' });
    const quiet = await run('  - expect-not: { event: ike.established, for: 200ms, match: { ike: bar } }\n', port);
    expect(quiet.r.steps[0]).toMatchObject({ verdict: 'PASS', detail: 'no ike.established (ike=bar) in 200ms' });
    port.later(50, { event: 'ike.established', ike: 'bar', ikeId: 4 });
    const t0 = Date.now();
    const loud = await run('  - expect-not: { event: ike.established, for: 5s, match: { ike: bar } }\n', port);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(loud.r).toMatchObject({ exitCode: 1 });
    expect(loud.r.steps[0]).toMatchObject({ verdict: 'FAIL', detail: 'unexpected ike.established bar[4]' });
  });

  test('expect-count: min passes as soon as reached, max fails as soon as exceeded, range waits the window', async () => {
    const port = new FakePort();
    const burst = (n: number) => {
      for (let i = 1; i <= n; i++) port.later(10 * i, { event: 'message.retransmitted', ike: 'bar', n: i });
    };
    burst(3);
    const min = await run('  - expect-count: { event: message.retransmitted, min: 3, within: 5s }\n', port);
    expect(min.r.steps[0]).toMatchObject({ verdict: 'PASS' });
    expect(min.r.steps[0]!.events).toHaveLength(3);
    expect(min.r.steps[0]!.at).toBeLessThan(2);
    burst(3);
    const max = await run('  - expect-count: { event: message.retransmitted, max: 2, within: 5s }\n', port);
    expect(max.r.steps[0]).toMatchObject({ verdict: 'FAIL', detail: '3 message.retransmitted, wanted at most 2' });
    burst(2);
    const range = await run('  - expect-count: { event: message.retransmitted, min: 3, max: 4, within: 200ms }\n', port);
    expect(range.r.steps[0]).toMatchObject({ verdict: 'FAIL', detail: '2 message.retransmitted in 200ms, wanted 3..4' });
  });

  test('wait-state polls list-sas until the state is reached, or fails with the state it saw', async () => {
    const port = new FakePort();
    port.sas = [{ name: 'bar', uniqueId: 2, state: 'CONNECTING', children: [] }];
    setTimeout(
      () => (port.sas = [{ name: 'bar', uniqueId: 2, state: 'ESTABLISHED', children: [{ name: 'net', uniqueId: 5, state: 'INSTALLED' }] }]),
      250,
    );
    const { r } = await run(
      '  - wait-state: { child: $child, state: installed, within: 3s }\n  - wait-state: { ike: zzz, state: absent }\n',
      port,
    );
    expect(r.steps.map((s) => s.detail)).toEqual(['net{5} INSTALLED', 'no ike zzz ABSENT']);
    const bad = await run('  - wait-state: { ike: $conn, state: DELETING, within: 300ms }\n', port);
    expect(bad.r.steps[0]!.detail).toBe('ike bar not DELETING within 300ms (now: ESTABLISHED)');
  });
});

describe('cleanup, params, exit codes, peer log', () => {
  test('faults the scenario added are cleared after a failure, and finally steps run; --keep leaves them', async () => {
    const text =
      "  - fault: { add: d1, match: 'ike=$conn,dir=in', action: drop }\n  - fault: add d2 --action dead --match ike=$conn\n" +
      '  - fault: clear d2\n  - expect: { event: dpd.timeout, within: 50ms }\nfinally:\n  - terminate: { ike: $conn }\n';
    const port = new FakePort();
    const { r, lines } = await run(text, port);
    expect(r.exitCode).toBe(1);
    const faults = port.calls.filter((c) => c.cmd === 'fault');
    expect(faults.map((c) => `${c.args.op} ${c.args.name}`)).toEqual(['add d1', 'add d2', 'clear d2', 'clear d1']);
    expect(port.calls.at(-1)).toEqual({ cmd: 'terminate', args: { ike: 'bar' } });
    expect(lines.some((l) => / PASS cleanup fault d1: cleared 'd1'$/.test(l))).toBe(true);

    const kept = new FakePort();
    const k = await run(text, kept, { keep: true });
    expect(kept.calls.filter((c) => c.cmd === 'fault' && c.args.op === 'clear').map((c) => c.args.name)).toEqual(['d2']);
    expect(kept.calls.some((c) => c.cmd === 'terminate')).toBe(false);
    expect(k.r.steps.at(-1)).toMatchObject({ kind: 'cleanup', verdict: 'SKIP', detail: 'kept (--keep): fault rules d1' });
  });

  test('a refused verb fails its step (exit 1); usage errors exit 2; no daemon exits 3; a daemon that goes away exits 3', async () => {
    const refusing = new FakePort({
      initiate: () => {
        throw new Error("no connection named 'zz'");
      },
    });
    const a = await run('  - initiate: { ike: zz }\n', refusing);
    expect(a.r).toMatchObject({ exitCode: 1 });
    expect(a.r.steps[0]!.detail).toBe("initiate refused: no connection named 'zz'");

    const port = new FakePort();
    const unknown = await runScenario(sc('  - sleep: 1ms\n'), { port, params: { nope: '1' } });
    expect(unknown).toMatchObject({ exitCode: 2, passed: false });
    expect(unknown.error).toContain("has no parameter 'nope'");
    const required = await runScenario(sc('  - ping: { child: net, dst: $dst }\n', 'params: { dst: ~ }\n'), { port });
    expect(required.exitCode).toBe(2);
    expect(required.error).toContain('--set dst=VALUE');
    const ok = await runScenario(sc('  - ping: { child: net, dst: $dst }\n', 'params: { dst: ~ }\n'), {
      port,
      params: { dst: '10.1.1.1' },
    });
    expect(ok.exitCode).toBe(0);

    const none = new FakePort({
      config: () => {
        throw new NoDaemonError('no ikelab daemon is listening on /x');
      },
    });
    expect((await run('  - sleep: 1ms\n', none)).r).toMatchObject({ exitCode: 3, error: 'no ikelab daemon is listening on /x' });
    const socketless = await runScenario(sc('  - sleep: 1ms\n', ''), { socket: join(tmpdir(), 'ikelab-no-such.sock') });
    expect(socketless.exitCode).toBe(3);

    const vanishing = new FakePort();
    setTimeout(() => vanishing.dropWatch(), 50);
    const gone = await run('  - expect: { event: ike.established, within: 5s }\n', vanishing);
    expect(gone.r.exitCode).toBe(3);
    expect(gone.r.error).toContain('ended the event stream');
  });

  test('peer-log: not checked without a file; matches only lines appended after the start', async () => {
    const port = new FakePort();
    const skipped = await run("  - peer-log: { contains: 'giving up' }\n", port);
    expect(skipped.r).toMatchObject({ passed: true, exitCode: 0 });
    expect(skipped.r.steps[0]).toMatchObject({ verdict: 'SKIP', detail: 'not checked: no --peer-log FILE given' });
    expect(skipped.lines.at(-1)).toContain('1 skipped or not checked');

    const dir = mkdtempSync(join(tmpdir(), 'ikelab-peerlog-'));
    try {
      const file = join(dir, 'charon.log');
      writeFileSync(file, 'old: giving up after 3 retransmits\n');
      setTimeout(() => appendFileSync(file, '12[IKE] giving up after 5 retransmits\n'), 500);
      const hit = await run("  - peer-log: { contains: 'giving up after (\\d+)', within: 3s }\n", port, { peerLog: file });
      expect(hit.r.steps[0]).toMatchObject({ verdict: 'PASS', detail: 'peer log: 12[IKE] giving up after 5 retransmits' });
      const miss = await run("  - peer-log: { contains: 'giving up after 3', within: 200ms }\n", port, { peerLog: file });
      expect(miss.r.steps[0]!.verdict).toBe('FAIL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('over a real control socket', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.done();
    r = undefined;
  });

  test('watch + config + fault verbs: params from the config, an event emitted by the daemon, the fault cleared', async () => {
    r = await rig();
    const log = r.daemon.svc.log as unknown as Logger;
    const scenario = parseScenario(
      `description: end to end
params: { conn: auto, child: auto }
steps:
  - fault: { add: in-drop, match: 'ike=$conn,dir=in', action: drop }
  - expect: { event: notify.received, within: 3s, match: { ike: $conn, notify: TS_UNACCEPTABLE } }
`,
      'e2e.yaml',
    );
    setTimeout(() => log.event('IKE', 1, '', { event: 'notify.received', ike: 'demo', ikeId: 1, notify: 'TS_UNACCEPTABLE' }), 200);
    const lines: string[] = [];
    const res = await runScenario(scenario, { socket: r.sock, out: (l) => lines.push(l) });
    expect(res).toMatchObject({ passed: true, exitCode: 0, params: { conn: 'demo', child: 'net' } });
    expect(res.steps.map((s) => `${s.verdict} ${s.name}`)).toEqual([
      'PASS fault add in-drop',
      'PASS expect notify.received',
      'PASS cleanup fault in-drop',
    ]);
    expect(r.daemon.faults.list()).toEqual([]);
    // the watch connection closes once the run is over
    expect(await until(() => r!.server.connections === 0)).toBe(true);
  });
});
