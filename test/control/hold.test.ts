// The control socket is claimed before the IKE sockets are bound, but a request that arrives in between must wait
// until the daemon listens: run-daemon.ts holds requests from control.start() until daemon.start() returned.
import { afterEach, expect, test } from 'vitest';
import { connect, type Rig, rig, sleep } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.done();
  r = undefined;
});

test('a request sent while requests are held is answered only after release()', async () => {
  r = await rig();
  const release = r.server.holdRequests();
  const c = await connect(r.sock);
  c.sock.write(`${JSON.stringify({ id: 3, cmd: 'list-sas', args: {} })}\n`);
  await sleep(200);
  expect(c.lines).toEqual([]); // connected, not read
  release();
  expect(JSON.parse(await c.line(1))).toEqual({ id: 3, ok: true, result: [] });
  c.sock.destroy();
});

test('without a hold the same request is answered at once', async () => {
  r = await rig();
  const c = await connect(r.sock);
  c.sock.write(`${JSON.stringify({ id: 4, cmd: 'list-sas', args: {} })}\n`);
  expect(JSON.parse(await c.line(1))).toEqual({ id: 4, ok: true, result: [] });
  c.sock.destroy();
});

test('closing the server while requests are held ends the waiting connection', async () => {
  r = await rig();
  r.server.holdRequests();
  const c = await connect(r.sock);
  c.sock.write(`${JSON.stringify({ id: 5, cmd: 'list-sas', args: {} })}\n`);
  await r.server.close();
  expect(await c.closed).toBeGreaterThanOrEqual(0);
  expect(c.lines).toEqual([]);
});
