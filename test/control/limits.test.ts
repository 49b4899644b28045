// The control socket's limits (CONTROL_LIMITS), each with a small override: connections at once, request size,
// idle time, unread output. After each, the daemon still answers.
import { afterEach, describe, expect, test } from 'vitest';
import { controlCall } from '../../src/control/client.js';
import { CONTROL_LIMITS, ControlServer } from '../../src/control/server.js';
import { connect, rig, sleep, until, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.done();
  r = undefined;
});

const error = (line: string) => (JSON.parse(line) as { ok: boolean; error: string }).error;

describe('control socket limits', () => {
  test('defaults are the documented ones, and the constructor overrides them one by one', async () => {
    expect(CONTROL_LIMITS).toEqual({
      maxConnections: 64,
      maxRequestBytes: 64 * 1024,
      idleTimeoutMs: 30_000,
      maxOutputBytes: 16 * 1024 * 1024,
    });
    r = await rig({ maxConnections: 3 });
    expect(r.server.limits).toEqual({ ...CONTROL_LIMITS, maxConnections: 3 });
    expect(new ControlServer(r.daemon, r.sock).limits).toEqual(CONTROL_LIMITS);
  });

  test('connection cap: one more gets an error line and is closed; a freed slot serves again', async () => {
    r = await rig({ maxConnections: 2 });
    const a = await connect(r.sock);
    const b = await connect(r.sock);
    await sleep(20);
    expect(r.server.connections).toBe(2);
    const c = await connect(r.sock);
    expect(error(await c.line(1))).toBe('too many control connections (at most 2); try again later');
    expect(await c.closed).toBeLessThan(2000);
    await expect(controlCall(r.sock, 'list-sas')).rejects.toThrow('too many control connections');
    // the two admitted ones still work
    a.sock.write('{"id":5,"cmd":"hello"}\n');
    expect(JSON.parse(await a.line(1))).toEqual({ id: 5, ok: true, result: 'ikelab' });
    b.sock.destroy();
    await b.closed;
    await sleep(20);
    await expect(controlCall(r.sock, 'list-sas')).resolves.toEqual([]);
    a.sock.destroy();
  });

  test('request size cap: a line (or an unfinished line) longer than the cap gets an error and the connection closes', async () => {
    r = await rig({ maxRequestBytes: 100 });
    // just under the cap is fine
    const ok = await connect(r.sock);
    const req = JSON.stringify({ id: 1, cmd: 'hello', args: { pad: 'x'.repeat(40) } });
    ok.sock.write(`${req}\n`);
    expect(JSON.parse(await ok.line(1))).toMatchObject({ id: 1, ok: true });
    ok.sock.destroy();
    // no newline ever: the buffer does not grow past the cap
    const slow = await connect(r.sock);
    slow.sock.write(`{"id":1,"cmd":"hello",${'"x":"'.padEnd(200, 'y')}`);
    expect(error(await slow.line(1))).toBe('request longer than 100 bytes; closing');
    await slow.closed;
    // a complete but long line in one write
    const long = await connect(r.sock);
    long.sock.write(`${JSON.stringify({ id: 2, cmd: 'hello', args: { pad: 'x'.repeat(200) } })}\n`);
    expect(error(await long.line(1))).toBe('request longer than 100 bytes; closing');
    await long.closed;
    await expect(controlCall(r.sock, 'hello')).resolves.toBe('ikelab');
  });

  test('idle timeout: no complete request within the limit closes the connection, a request resets the clock', async () => {
    r = await rig({ idleTimeoutMs: 150 });
    const silent = await connect(r.sock);
    const partial = await connect(r.sock);
    partial.sock.write('{"id":1,'); // never finished: not a request
    const busy = await connect(r.sock);
    for (let i = 0; i < 4; i++) {
      busy.sock.write(`{"id":${i},"cmd":"hello"}\n`);
      await sleep(80);
    }
    expect(busy.sock.destroyed).toBe(false);
    expect(error(await silent.line(1))).toBe('no complete request within 150 ms; closing');
    expect(await silent.closed).toBeLessThan(1500);
    expect(error(await partial.line(1))).toBe('no complete request within 150 ms; closing');
    await partial.closed;
    expect(busy.lines).toHaveLength(4);
    await busy.closed; // idle after its last request
    expect(await until(() => r!.server.connections === 0)).toBe(true);
  });

  test('output cap: a client that sends requests but never reads is destroyed; one reply larger than the cap is not cut', async () => {
    // a ~64 KiB list-sas reply, larger than the cap on its own
    const big = Array.from({ length: 400 }, (_, i) => ({ name: `sa-${i}`, pad: 'z'.repeat(150) }));
    const flood = '{"id":1,"cmd":"list-sas"}\n'.repeat(200); // ~13 MB of replies if all were queued
    // control: with the default cap (16 MiB) the same flood is still being served after a while
    r = await rig();
    r.daemon.ops.listSas = (() => big) as unknown as typeof r.daemon.ops.listSas;
    const tolerated = await connect(r.sock, false);
    tolerated.sock.write(flood);
    expect(await until(() => r!.server.connections === 0, 500)).toBe(false);
    tolerated.sock.destroy();
    await r.done();

    r = await rig({ maxOutputBytes: 4096 });
    r.daemon.ops.listSas = (() => big) as unknown as typeof r.daemon.ops.listSas;
    const reader = await connect(r.sock);
    reader.sock.write('{"id":1,"cmd":"list-sas"}\n');
    expect(JSON.parse(await reader.line(1)).result).toHaveLength(400);
    reader.sock.destroy();
    await until(() => r!.server.connections === 0);

    // a client that does not read never sees the close either: the daemon's side is what is checked
    const deaf = await connect(r.sock, false);
    deaf.sock.write(flood);
    expect(await until(() => r!.server.connections === 0, 5000)).toBe(true);
    deaf.sock.destroy();
    await expect(controlCall(r.sock, 'stats')).resolves.toMatchObject({ sas: 0 });
  });

  test('close() ends idle connections instead of waiting for them', async () => {
    r = await rig();
    const idle = await connect(r.sock);
    const t0 = Date.now();
    await r.server.close();
    await idle.closed;
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
