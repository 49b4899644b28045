// CLI side of the control socket.
import net from 'node:net';
import type { ControlReply, ControlRequest } from './protocol.js';

export class NoDaemonError extends Error {}

export function controlCall(path: string, cmd: ControlRequest['cmd'], args: ControlRequest['args'] = {}, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the daemon on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, cmd, args }) + '\n'));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new NoDaemonError(`no ikelab daemon is listening on ${path} (start one with: ikelab start --config FILE)`));
      else reject(e);
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      let reply: ControlReply;
      try {
        reply = JSON.parse(buf.slice(0, nl));
      } catch {
        return reject(new Error('daemon sent an invalid reply'));
      }
      if (reply.ok) resolve(reply.result);
      else reject(new Error(reply.error));
    });
  });
}
