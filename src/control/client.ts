// CLI side of the control socket.
import net from 'node:net';
import type { IkelabEvent } from '../log/events.js';
import type { ControlEventLine, ControlLogLine, ControlReply, ControlRequest, StreamedLogLine } from './protocol.js';

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

export interface WatchHandle {
  /** Stops the stream (closes the connection). */
  close(): void;
  /** Resolves when the stream ended: undefined after close(), else why (the daemon's error line, or it went away). */
  readonly ended: Promise<Error | undefined>;
}

/**
 * `watch`: resolves once the daemon accepted the subscription (rejects like controlCall when it did not, or when no
 * daemon listens); then onEvent gets each event until close() or the daemon ends the stream.
 */
export function controlWatch(
  path: string,
  args: ControlRequest['args'],
  onEvent: (e: IkelabEvent) => void,
  timeoutMs = 10_000,
): Promise<WatchHandle> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    let accepted = false;
    let closing = false;
    let endWith: (e: Error | undefined) => void = () => {};
    const ended = new Promise<Error | undefined>((r) => (endWith = r));
    let why: Error | undefined;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the daemon on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, cmd: 'watch', args })}\n`));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (accepted) why ??= e;
      else if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
        reject(new NoDaemonError(`no ikelab daemon is listening on ${path} (start one with: ikelab start --config FILE)`));
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!accepted) return reject(new Error(`the daemon on ${path} closed the connection without a reply`));
      endWith(closing ? undefined : (why ?? new Error(`the daemon on ${path} ended the watch`)));
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: ControlReply | ControlEventLine;
        try {
          msg = JSON.parse(line);
        } catch {
          why ??= new Error('daemon sent an invalid line');
          sock.destroy();
          return;
        }
        if ('event' in msg) {
          if (accepted && !closing) onEvent(msg.event);
        } else if (!msg.ok) {
          // refused (first line) or cut off later (a limit): either way the stream is over
          if (!accepted) {
            clearTimeout(timer);
            sock.destroy();
            return reject(new Error(msg.error));
          }
          why ??= new Error(msg.error);
        } else if (!accepted) {
          accepted = true;
          clearTimeout(timer);
          resolve({
            close() {
              closing = true;
              sock.destroy();
            },
            ended,
          });
        }
      }
    });
  });
}

/** What a waiting verb streams: its log lines (args.stream 'log', the default) or its events ('events'). */
export interface WaitHandlers {
  onLine?: (l: StreamedLogLine) => void;
  onEvent?: (e: IkelabEvent) => void;
}

/**
 * A waiting verb (initiate-wait, terminate-wait, rekey-wait): the handlers get the log lines or events of the SAs
 * concerned while the daemon works; resolves with the last reply's result (the Outcome), rejects with its error,
 * like controlCall when no daemon listens (NoDaemonError), or when the daemon goes away before the result. The
 * timeout is the daemon's (args.timeout); acceptTimeoutMs only bounds the wait for the first reply.
 */
export function controlWait(
  path: string,
  cmd: 'initiate-wait' | 'terminate-wait' | 'rekey-wait',
  args: ControlRequest['args'],
  on: WaitHandlers,
  acceptTimeoutMs = 10_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    let accepted = false;
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      f();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no answer from the daemon on ${path} within ${acceptTimeoutMs} ms`))),
      acceptTimeoutMs,
    );
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, cmd, args })}\n`));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
        finish(() => reject(new NoDaemonError(`no ikelab daemon is listening on ${path} (start one with: ikelab start --config FILE)`)));
      else if (e.code === 'EACCES' || e.code === 'EPERM')
        finish(() =>
          reject(new Error(`permission denied on control socket ${path} (${e.code}): only the user running the daemon may use it`)),
        );
      else finish(() => reject(e));
    });
    sock.on('close', () => finish(() => reject(new Error(`the daemon on ${path} closed the connection before the result`))));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while (!settled && (nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: ControlReply | ControlEventLine | ControlLogLine;
        try {
          msg = JSON.parse(line);
        } catch {
          return finish(() => reject(new Error('daemon sent an invalid line')));
        }
        if ('event' in msg) on.onEvent?.(msg.event);
        else if ('log' in msg) on.onLine?.(msg.log);
        else if (!msg.ok) finish(() => reject(new Error(msg.error)));
        else if (!accepted) {
          accepted = true;
          clearTimeout(timer);
        } else finish(() => resolve(msg.result));
      }
    });
  });
}
