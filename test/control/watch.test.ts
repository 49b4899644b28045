// The `watch` verb: the daemon's structured events streamed on the connection that asked, with name-prefix and
// connection filters; a watcher is exempt from the idle timeout but not from the unread-output cap, and the daemon
// keeps serving everyone else whatever a watcher does.
import { afterEach, describe, expect, test } from 'vitest';
import { controlCall, controlWatch } from '../../src/control/client.js';
import type { EventFields, IkelabEvent } from '../../src/log/events.js';
import type { Logger } from '../../src/log/logger.js';
import { connect, rig, sleep, until, type Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.done();
  r = undefined;
});

const log = (rg: Rig): Logger => rg.daemon.svc.log as unknown as Logger;
const emit = (rg: Rig, f: EventFields) => log(rg).event('IKE', 1, '', f);
const listeners = (rg: Rig): number => (log(rg) as any).listeners.size;

describe('watch', () => {
  test('first line is the reply, then one { id, event } line per event, in order', async () => {
    r = await rig();
    const c = await connect(r.sock);
    c.sock.write('{"id":7,"cmd":"watch","args":{}}\n');
    expect(JSON.parse(await c.line(1))).toEqual({ id: 7, ok: true, result: { watching: { events: [] } } });
    emit(r, { event: 'ike.established', ike: 'demo', ikeId: 3 });
    emit(r, { event: 'notify.received', ike: 'demo', ikeId: 3, notify: 'TS_UNACCEPTABLE' });
    const a = JSON.parse(await c.line(2));
    const b = JSON.parse(await c.line(3));
    expect(a).toMatchObject({ id: 7, event: { event: 'ike.established', ike: 'demo', ikeId: 3 } });
    expect(typeof a.event.time).toBe('string');
    expect(b.event).toMatchObject({ event: 'notify.received', notify: 'TS_UNACCEPTABLE' });
    c.sock.destroy();
    await c.closed;
    expect(await until(() => listeners(r!) === 0)).toBe(true);
  });

  test('filters: event name prefixes and the connection name', async () => {
    r = await rig();
    const got: IkelabEvent[] = [];
    const h = await controlWatch(r.sock, { events: ['ike.', 'child.deleted'], ike: 'demo' }, (e) => got.push(e));
    emit(r, { event: 'ike.established', ike: 'demo' });
    emit(r, { event: 'ike.established', ike: 'other' });
    emit(r, { event: 'child.established', ike: 'demo' });
    emit(r, { event: 'child.deleted', ike: 'demo', child: 'net' });
    emit(r, { event: 'message.sent', ike: 'demo' });
    expect(await until(() => got.length >= 2)).toBe(true);
    await sleep(50);
    expect(got.map((e) => `${e.event} ${e.ike}`)).toEqual(['ike.established demo', 'child.deleted demo']);
    h.close();
    expect(await h.ended).toBeUndefined();
  });

  test('an unknown event prefix is refused; the connection keeps serving requests', async () => {
    r = await rig();
    await expect(controlWatch(r.sock, { events: ['ike.establihsed'] }, () => {})).rejects.toThrow(
      "watch: no event name starts with 'ike.establihsed'",
    );
    const c = await connect(r.sock);
    c.sock.write('{"id":1,"cmd":"watch","args":{"events":["nope"]}}\n{"id":2,"cmd":"hello"}\n');
    expect(JSON.parse(await c.line(1))).toMatchObject({ id: 1, ok: false });
    expect(JSON.parse(await c.line(2))).toEqual({ id: 2, ok: true, result: 'ikelab' });
    c.sock.destroy();
  });

  test('a watcher is not idle: it outlives the idle timeout and still gets events', async () => {
    r = await rig({ idleTimeoutMs: 100 });
    const got: IkelabEvent[] = [];
    const h = await controlWatch(r.sock, {}, (e) => got.push(e));
    await sleep(350);
    emit(r, { event: 'dpd.timeout', ike: 'demo' });
    expect(await until(() => got.length === 1)).toBe(true);
    h.close();
  });

  test('a slow watcher is cut off with the error line; the daemon and other watchers carry on', async () => {
    r = await rig({ maxOutputBytes: 64 * 1024 });
    const fast: IkelabEvent[] = [];
    const other = await controlWatch(r.sock, { events: ['ike.'] }, (e) => fast.push(e));
    const slow = await connect(r.sock, false); // never reads
    slow.sock.write('{"id":1,"cmd":"watch","args":{}}\n');
    await until(() => listeners(r!) === 2);
    const pad = 'x'.repeat(1000);
    const t0 = Date.now();
    // far more than the cap plus what the kernel buffers; each emit returns at once (nothing blocks on the reader)
    for (let i = 0; i < 5000; i++) emit(r, { event: 'message.sent', ike: 'demo', pad });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await until(() => listeners(r!) === 1, 3000)).toBe(true); // the slow one unsubscribed at once
    // a client that does not read never sees the close either: the daemon's side is what is checked
    expect(await until(() => r!.server.connections === 1, 5000)).toBe(true);
    slow.sock.destroy();
    await expect(controlCall(r.sock, 'hello')).resolves.toBe('ikelab');
    emit(r, { event: 'ike.deleted', ike: 'demo' });
    expect(await until(() => fast.some((e) => e.event === 'ike.deleted'))).toBe(true);
    other.close();
    expect(await until(() => r!.server.connections === 0)).toBe(true);
    expect(listeners(r)).toBe(0);
  });

  test('a slow watcher that reads again finds the error line at the end of what it was sent', async () => {
    r = await rig({ maxOutputBytes: 32 * 1024 });
    const c = await connect(r.sock);
    c.sock.write('{"id":1,"cmd":"watch","args":{}}\n');
    await c.line(1);
    c.sock.pause();
    for (let i = 0; i < 3000; i++) emit(r, { event: 'message.received', ike: 'demo', pad: 'y'.repeat(500) });
    c.sock.resume();
    await c.closed;
    await sleep(30);
    const last = JSON.parse(c.lines[c.lines.length - 1]!);
    expect(last).toEqual({ id: 0, ok: false, error: `more than ${32 * 1024} bytes of events unread; closing the watch` });
    expect(c.lines.length).toBeLessThan(3000);
  });

  test('the daemon stopping ends the stream with a reason', async () => {
    r = await rig();
    const h = await controlWatch(r.sock, {}, () => {});
    await r.server.close();
    const why = await h.ended;
    expect(why).toBeInstanceOf(Error);
  });
});
