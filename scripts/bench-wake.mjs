// What waking up costs a UDP server on this machine, with no IKE in it (plain Node ESM, no build step). Not a test.
//
//   node scripts/bench-wake.mjs [gap-ms ...]        # default: 0 1 0 1
//
// A bare node:dgram echo server runs in a child process; a client in this process sends one 300-byte datagram at a
// time, the next one `gap` ms after each echo. With gap 0 the next request is there before the server goes back to
// sleep; with a gap the server sleeps between requests, as an IKE responder does when setups arrive paced (the
// load-tester's delay, bench-load's --rate). Printed: CPU microseconds (user + system, all threads) per echo in the
// server and in the client. The difference between the gap and no-gap rows is what each sleep and wake-up costs
// here, whatever the server does with the datagram: a paced benchmark charges it to every request of any daemon.
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--echo') {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(0, '127.0.0.1', () => process.send(s.address().port));
  let c0 = process.cpuUsage();
  process.on('message', (m) => {
    if (m === 'start') {
      c0 = process.cpuUsage();
      process.send('started');
    } else {
      const c = process.cpuUsage(c0);
      process.send(c.user + c.system);
      process.disconnect();
      s.close();
    }
  });
} else {
  const gaps = process.argv.slice(2).map(Number);
  if (gaps.some((g) => !(g >= 0))) {
    console.error('usage: bench-wake.mjs [gap-ms ...]');
    process.exit(2);
  }
  console.log(`node ${process.version}: CPU us per echo of a bare node:dgram echo server, one request at a time`);
  for (const gap of gaps.length ? gaps : [0, 1, 0, 1]) {
    const child = fork(fileURLToPath(import.meta.url), ['--echo']);
    const reply = () => new Promise((r) => child.once('message', r));
    const port = await reply();
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    const buf = Buffer.alloc(300, 1);
    // about 3 s per row either way
    const n = gap ? Math.max(200, Math.round(3000 / (gap + 0.1))) : 30000;
    child.send('start');
    await reply();
    const c0 = process.cpuUsage();
    let got = 0;
    const send = () => s.send(buf, port, '127.0.0.1');
    await new Promise((done) => {
      s.on('message', () => {
        if (++got === n) done();
        else if (gap) setTimeout(send, gap);
        else send();
      });
      send();
    });
    const c = process.cpuUsage(c0);
    child.send('stop');
    const serverUs = await reply();
    console.log(
      `  gap ${String(gap).padStart(4)} ms: server ${(serverUs / n).toFixed(1).padStart(6)} us, client ${((c.user + c.system) / n).toFixed(1).padStart(6)} us  (${n} echoes)`,
    );
    s.close();
  }
}
