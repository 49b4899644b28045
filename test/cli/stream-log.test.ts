// `ikelab initiate | terminate | rekey` stream the daemon's log lines of that operation's IKE_SA while they wait, as
// swanctl --initiate prints charon's: `[GRP] message`, the very text the daemon's charon sink writes, up to
// --loglevel N (default 1) whatever the daemon's own levels; --quiet silences them, --json moves them to stderr,
// --events streams the structured events instead. Only the lines of the IKE_SA(s) the operation touched; and the
// subscription ends with the wait, also when the client goes away early (no listener left in the logger).
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { controlCall, controlWait } from '../../src/control/client.js';
import type { StreamedLogLine } from '../../src/control/protocol.js';
import { formatCharonLine } from '../../src/log/charon-sink.js';
import type { LogRecord } from '../../src/log/logger.js';
import type { Outcome } from '../../src/ops/outcome.js';
import { connect } from '../control/helpers.js';
import { type CliPeers, ikelab, startPeers, until } from './daemons.js';

// every case starts node processes, seconds each on a busy CI host
vi.setConfig({ testTimeout: 120_000 });

let p: CliPeers;
beforeAll(async () => {
  p = await startPeers(42_000 + (process.pid % 1000) * 2);
});
afterAll(async () => {
  await p?.stop();
});

/** The lines of the output that look like streamed log lines. */
const logLines = (out: string): string[] => out.split('\n').filter((l) => /^\[[A-Z]{3}\] /.test(l));

/** What the daemon's charon sink wrote for these records, without its time and thread columns: `[IKE] ...`. */
const sinkText = (records: readonly LogRecord[]): string[] =>
  records.map((r) => formatCharonLine(r, { timeFormat: 'none' }).replace(/^\d\d/, ''));

/** The sink records of one IKE_SA from index `from` on. */
const recordsOf = (from: number, ikeId: number): LogRecord[] => p.A.sink.records.slice(from).filter((r) => r.ctx?.ikeId === ikeId);

const outcomeOf = (stdout: string) => JSON.parse(stdout) as Outcome;

describe('the waiting verbs stream the log lines of their IKE_SA', () => {
  test('initiate: the lines the charon sink writes for that IKE_SA, in order, on stdout; then the result line', async () => {
    const from = p.A.sink.records.length;
    const r = await ikelab('initiate', '--child', 'net', '--socket', p.A.sock);
    expect(r.code, r.stderr).toBe(0);
    const streamed = logLines(r.stdout);
    const id = Number(/^\[IKE\] initiating IKE_SA demo\[(\d+)\] to 127\.0\.0\.2$/m.exec(r.stdout)?.[1]);
    expect(id).toBeGreaterThan(0);
    // exactly the sink's lines of that IKE_SA (both at level 1), from the first to the CHILD_SA's establishment
    const written = sinkText(recordsOf(from, id));
    expect(streamed.length).toBeGreaterThanOrEqual(15);
    expect(streamed).toEqual(written.slice(0, streamed.length));
    expect(streamed).toContainEqual(expect.stringMatching(/^\[ENC\] generating IKE_SA_INIT request 0 \[ SA KE No /));
    expect(streamed).toContainEqual(expect.stringMatching(/^\[NET\] sending packet: from 127\.0\.0\.1\[\d+\] to 127\.0\.0\.2\[\d+\]/));
    expect(streamed).toContain(`[IKE] IKE_SA demo[${id}] established between 127.0.0.1[127.0.0.1]...127.0.0.2[127.0.0.2]`);
    expect(streamed.at(-1)).toMatch(/^\[IKE\] CHILD_SA net\{\d+\} established with SPIs /);
    // the result comes after the lines; no structured event is printed
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^initiate completed successfully: IKE_SA demo\[\d+\], CHILD_SA net\{\d+\}/);
    expect(r.stdout).not.toMatch(/ike\.initiating|message\.sent/);
  });

  test('rekey and terminate stream theirs; --json puts them on stderr and one object on stdout', async () => {
    const rk = await ikelab('rekey', '--child', 'net', '--json', '--socket', p.A.sock);
    expect(rk.code, rk.stderr).toBe(0);
    expect(outcomeOf(rk.stdout)).toMatchObject({ ok: true, child: 'net' });
    expect(logLines(rk.stderr)).toContainEqual(expect.stringMatching(/^\[ENC\] generating CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) /));
    expect(logLines(rk.stdout)).toEqual([]);
    const t = await ikelab('terminate', '--ike', 'demo', '--socket', p.A.sock);
    expect(t.code, t.stderr).toBe(0);
    expect(logLines(t.stdout)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\[IKE\] deleting IKE_SA demo\[\d+\] between /),
        expect.stringMatching(/^\[IKE\] sending DELETE for IKE_SA demo\[\d+\]$/),
        '[IKE] IKE_SA deleted',
      ]),
    );
  });

  test("--loglevel N: the level asked for, whatever the daemon sinks' levels; -1 and --quiet: none", async () => {
    // level 0: only what charon logs at level 0 (the two establishments)
    const zero = await ikelab('initiate', '--child', 'net', '--loglevel', '0', '--socket', p.A.sock);
    expect(zero.code, zero.stderr).toBe(0);
    expect(logLines(zero.stdout)).toEqual([
      expect.stringMatching(/^\[IKE\] IKE_SA demo\[\d+\] established between /),
      expect.stringMatching(/^\[IKE\] CHILD_SA net\{\d+\} established with SPIs /),
    ]);
    // the daemon's sinks at level 0: the stream (level 1) still has the level-1 lines, which the sinks never got
    p.A.log.setLevels({ default: 0 });
    try {
      const from = p.A.sink.records.length;
      const r = await ikelab('rekey', '--child', 'net', '--socket', p.A.sock);
      expect(r.code, r.stderr).toBe(0);
      const streamed = logLines(r.stdout);
      expect(streamed).toContainEqual(expect.stringMatching(/^\[ENC\] generating CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) /));
      const written = new Set(sinkText(p.A.sink.records.slice(from)));
      expect(p.A.sink.records.slice(from).every((x) => x.level === 0)).toBe(true);
      expect(streamed.filter((l) => !written.has(l)).length).toBeGreaterThanOrEqual(5);
      // the stream ended with the wait: the daemon formats level-1 lines no more
      expect(p.A.log.enabled('ENC', 1)).toBe(false);
      expect(p.A.log.lineListenerCount).toBe(0);
    } finally {
      p.A.log.setLevels({ default: 1 });
    }
    for (const args of [['--loglevel=-1'], ['--quiet']]) {
      const r = await ikelab('rekey', '--child', 'net', ...args, '--socket', p.A.sock);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^rekey completed successfully: /);
      expect(logLines(r.stdout + r.stderr)).toEqual([]);
    }
  });

  test('--events: the structured events instead, as watch prints them', async () => {
    const r = await ikelab('rekey', '--child', 'net', '--events', '--socket', p.A.sock);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\S+ message\.sent demo\[\d+\] exchange=CREATE_CHILD_SA messageId=\d+ request=true/m);
    expect(r.stdout).toMatch(/^\S+ child\.rekeyed demo\[\d+\] /m);
    expect(logLines(r.stdout)).toEqual([]);
  });

  test('a failure: the lines up to the notify, then the reason (NO_PROPOSAL_CHOSEN; peer not responding)', async () => {
    const np = await ikelab('initiate', '--child', 'net', '--esp-proposals', 'aes128gcm16', '--socket', p.A.sock);
    expect(np.code).toBe(1);
    expect(logLines(np.stdout)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\[ENC\] parsed CREATE_CHILD_SA response \d+ \[ N\(NO_PROP\) \]$/),
        '[IKE] received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built',
      ]),
    );
    expect(np.stderr).toMatch(/^ikelab: initiate failed: NO_PROPOSAL_CHOSEN/m);
    await controlCall(p.B.sock, 'fault', { mode: 'silent' });
    try {
      const dead = await ikelab('initiate', '--child', 'net', '--psk', 'another', '--json', '--socket', p.A.sock);
      expect(dead.code).toBe(1);
      expect(outcomeOf(dead.stdout)).toMatchObject({ ok: false, reason: 'peer not responding' });
      expect(logLines(dead.stderr)).toEqual(
        expect.arrayContaining(['[IKE] retransmit 1 of request with message ID 0', '[IKE] giving up after 2 retransmits']),
      );
    } finally {
      await controlCall(p.B.sock, 'fault', { mode: 'normal' });
    }
  });
});

describe("only the operation's IKE_SAs, and no listener left behind", () => {
  test('two initiations at once: each stream has only the lines of its own IKE_SA', async () => {
    const run = async () => {
      const lines: StreamedLogLine[] = [];
      // a PSK override makes each a new IKE_SA (the right PSK: both come up)
      const o = (await controlWait(
        p.A.sock,
        'initiate-wait',
        { child: 'net', psk: 'ikelab-demo-secret', stream: 'log', loglevel: '1' },
        { onLine: (l) => lines.push(l) },
      )) as Outcome;
      return { o, lines };
    };
    const [x, y] = await Promise.all([run(), run()]);
    expect(x.o.ok && y.o.ok, JSON.stringify([x.o, y.o])).toBe(true);
    expect(x.o.ikeId).not.toBe(y.o.ikeId);
    for (const { o, lines } of [x, y]) {
      expect(lines.length).toBeGreaterThanOrEqual(15);
      expect(lines.every((l) => l.ikeId === o.ikeId && l.ike === 'demo')).toBe(true);
      expect(lines.map((l) => l.message)).toContain(`initiating IKE_SA demo[${o.ikeId}] to 127.0.0.2`);
    }
    await ikelab('terminate', '--ike', 'demo', '--quiet', '--socket', p.A.sock);
  });

  test('a client that goes away mid-wait: its line subscription (level 3 here) ends with the connection', async () => {
    await controlCall(p.B.sock, 'fault', { mode: 'silent' });
    try {
      expect(p.A.log.lineListenerCount).toBe(0);
      const c = await connect(p.A.sock);
      c.sock.write(`${JSON.stringify({ id: 1, cmd: 'initiate-wait', args: { ike: 'demo', loglevel: '3', timeout: '30' } })}\n`);
      // the first reply, then the first log line of the new IKE_SA
      expect(JSON.parse(await c.line(1))).toMatchObject({ id: 1, ok: true, result: { waiting: 'initiate' } });
      expect(JSON.parse(await c.line(2))).toMatchObject({ id: 1, log: { group: expect.any(String), ike: 'demo' } });
      expect(p.A.log.lineListenerCount).toBe(1);
      expect(p.A.log.enabled('ENC', 3)).toBe(true);
      c.sock.destroy();
      await until(() => p.A.control.connections === 0, 5000, 'the server to see the client go');
      expect(p.A.log.lineListenerCount).toBe(0);
      expect(p.A.log.enabled('ENC', 3)).toBe(false);
      // the initiation itself goes on (swanctl detaches the same way): the IKE_SA is still there, connecting
      expect(p.A.daemon.ops.listSas().some((s) => s.state === 'CONNECTING')).toBe(true);
    } finally {
      await controlCall(p.B.sock, 'fault', { mode: 'normal' });
    }
  });

  test('a bad --loglevel or stream: refused before anything starts (exit 2 from the CLI, an error from the daemon)', async () => {
    for (const args of [
      ['--loglevel', '5'],
      ['--loglevel', 'x'],
      ['--quiet', '--events'],
      ['--quiet', '--loglevel', '2'],
      ['--events', '--loglevel', '2'],
      ['--count', '2', '--loglevel', '2'],
    ]) {
      const r = await ikelab('initiate', '--child', 'net', ...args, '--socket', p.A.sock);
      expect(r.code, args.join(' ')).toBe(2);
    }
    const sas = p.A.daemon.ops.listSas().length;
    await expect(controlWait(p.A.sock, 'initiate-wait', { child: 'net', loglevel: '9' }, {})).rejects.toThrow(
      "--loglevel needs a level -1..4, got '9'",
    );
    await expect(controlWait(p.A.sock, 'initiate-wait', { child: 'net', stream: 'all' }, {})).rejects.toThrow(
      "stream must be one of log, events, none, got 'all'",
    );
    expect(p.A.daemon.ops.listSas()).toHaveLength(sas);
    expect(p.A.log.lineListenerCount).toBe(0);
  });
});
