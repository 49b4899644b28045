// CLI side of the control socket.
import net from 'node:net';
import type { ControlReply, ControlRequest } from './protocol.js';

export class NoDaemonError extends Error {}

export function controlCall(
  path: string,
  cmd: ControlRequest['cmd'],
  args: ControlRequest['args'] = {},
  timeoutMs = 10_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the daemon on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, cmd, args })}\n`));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
        reject(new NoDaemonError(`no ikelab daemon is listening on ${path} (start one with: ikelab start --config FILE)`));
      // the socket is 0600: only the daemon's own user may control it
      else if (e.code === 'EACCES' || e.code === 'EPERM')
        reject(new Error(`permission denied on control socket ${path} (${e.code}): only the user running the daemon may use it`));
      else reject(e);
    });
    // the daemon closes with an error line of its own when it refuses; without one, say so instead of timing out
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`the daemon on ${path} closed the connection without a reply`));
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
