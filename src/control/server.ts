// The daemon's control socket (a Unix socket, path from daemon.control_socket). Requests are handled one line
// at a time; a bad request gets an error reply, never a crash.
//
// Who may use it: whoever can connect can initiate, terminate, fault and load configs (PSKs included), so the
// socket is for the daemon's own user only. Node has no API for the peer's credentials (SO_PEERCRED needs a native
// addon, which we do not take on), so the socket file's mode is the access control: it is born 0600 (bound under
// umask 0177, no moment at which it is wider) and chmod'ed 0600 again after listen.
//
// What one client (or many) may cost: CONTROL_LIMITS bounds connections, request size, idle time and unread
// output; requests of one connection run one at a time, so a connection never has more than one in flight.
//
// This file is the transport only: framing, limits, the socket file. The verbs are the command table
// (commands/table.ts), which a second transport would serve the same way (runCommand).
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Daemon } from '../daemon.js';
import type { Logger } from '../log/logger.js';
import type { ControlArgs, ControlContext } from './commands/command.js';
import { CONTROL_COMMANDS, type CommandTable, runCommand, STREAM_COMMANDS } from './commands/table.js';
import type { StreamCommand } from './commands/watch.js';
import type { ControlReply, ControlRequest, StreamItem } from './protocol.js';

export interface ControlLimits {
  /** Connections served at once; one more gets an error line and is closed. */
  maxConnections: number;
  /** Bytes of one request line; a longer one gets an error line and the connection is closed. */
  maxRequestBytes: number;
  /** A connection with no complete request (and no reply being read) for this long is closed. */
  idleTimeoutMs: number;
  /**
   * Unread reply bytes a connection may have queued when the next reply is due; more and it is destroyed (a client
   * that sends requests but never reads). Checked before a reply is queued, so one large reply (list-sas of
   * 100,000 SAs) is never cut.
   */
  maxOutputBytes: number;
}

export const CONTROL_LIMITS: Readonly<ControlLimits> = {
  maxConnections: 64,
  maxRequestBytes: 64 * 1024,
  idleTimeoutMs: 30_000,
  maxOutputBytes: 16 * 1024 * 1024,
};

export interface ControlServerOptions extends Partial<ControlLimits> {
  /** Where `load` reports a config file whose secrets others can read; default the daemon's logger. */
  log?: Logger;
  /** The verbs served; default the daemon's control API (CONTROL_COMMANDS). */
  commands?: CommandTable;
}

interface StreamRequest {
  id: number;
  command: StreamCommand;
  args: ControlArgs;
}

/** The socket file's mode: owner only (see the top of this file). */
export const CONTROL_SOCKET_MODE = 0o600;

export class ControlServer {
  private server?: net.Server;
  private readonly conns = new Set<net.Socket>();
  readonly limits: ControlLimits;
  private readonly commands: CommandTable;
  private readonly context: ControlContext;
  /** While set, connections are accepted but not read (see holdRequests). */
  private held?: Promise<void>;

  constructor(
    daemon: Daemon,
    private readonly path: string,
    opts: ControlServerOptions = {},
  ) {
    const { log, commands, ...limits } = opts;
    this.limits = { ...CONTROL_LIMITS, ...limits };
    this.commands = commands ?? CONTROL_COMMANDS;
    this.context = {
      daemon: daemon.ops,
      get log() {
        return log ?? daemon.svc.log;
      },
    };
  }

  /** Connections being served now. */
  get connections(): number {
    return this.conns.size;
  }

  async start(): Promise<void> {
    const dir = dirname(this.path);
    const st = await stat(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT')
        throw new Error(`the directory of control socket ${this.path} does not exist: create ${dir} or set daemon.control_socket`);
      throw new Error(`cannot use the directory of control socket ${this.path}: ${e.message}`);
    });
    if (!st.isDirectory()) throw new Error(`the directory of control socket ${this.path} is not a directory: ${dir}`);
    await this.removeStale();
    const server = net.createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // bind() happens synchronously inside listen() (no cluster here), so the socket file is created under this
      // umask and is 0600 from its first moment. umask is per process and main-thread only: the daemon runs there.
      const umask = process.umask(0o177);
      try {
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    this.server = server;
    // explicit, whatever umask and file system did
    await chmod(this.path, CONTROL_SOCKET_MODE);
  }

  /** A socket left by a crashed run is removed; a live one, or anything that is not a socket, is left alone. */
  private async removeStale(): Promise<void> {
    const st = await lstat(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!st) return;
    if (!st.isSocket()) throw new Error(`control socket path ${this.path} exists and is not a socket; not removing it`);
    const alive = await new Promise<boolean>((resolve) => {
      const c = net.connect(this.path, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    // a socket of another user in a shared directory (the default lives in the temp dir): say whose it is
    const owner = st.uid !== process.getuid?.() ? ` (owned by uid ${st.uid})` : '';
    if (alive) throw new Error(`control socket ${this.path} is in use by another ikelab daemon${owner}`);
    await unlink(this.path);
  }

  /**
   * The socket is claimed before the IKE sockets are bound (a second daemon on the same control socket must fail
   * before it touches ports 500/4500), but a client must not see a daemon that is not listening yet: requests that
   * arrive meanwhile wait, unread, until the returned release() (or the close of the server).
   */
  holdRequests(): () => void {
    let release!: () => void;
    this.held = new Promise<void>((r) => {
      release = r;
    });
    return () => {
      this.held = undefined;
      release();
    };
  }

  private serve(sock: net.Socket): void {
    const lim = this.limits;
    sock.on('error', () => sock.destroy());
    if (this.conns.size >= lim.maxConnections) {
      return this.closeWith(sock, `too many control connections (at most ${lim.maxConnections}); try again later`);
    }
    this.conns.add(sock);
    if (this.held) {
      sock.pause();
      void this.held.then(() => sock.resume());
    }
    let busy = false; // an asynchronous request (load, ping) is running; later lines wait for it
    // a streaming verb (watch) owns the connection from its reply on: no idle timeout, no further requests
    let stopStream: (() => void) | undefined;
    let idle: NodeJS.Timeout | undefined;
    let flushed = 0;
    const armIdle = () => {
      clearTimeout(idle);
      if (sock.destroyed || stopStream) return;
      flushed = sock.bytesWritten - sock.writableLength;
      idle = setTimeout(onIdle, lim.idleTimeoutMs);
    };
    const onIdle = () => {
      // still working on its request, or it is reading a long reply: not idle
      if (busy || (sock.writableLength > 0 && sock.bytesWritten - sock.writableLength > flushed)) return armIdle();
      this.closeWith(sock, `no complete request within ${lim.idleTimeoutMs} ms; closing`);
    };
    sock.on('close', () => {
      clearTimeout(idle);
      stopStream?.();
      this.conns.delete(sock);
    });
    armIdle();

    const send = (reply: ControlReply): void => {
      if (sock.destroyed) return;
      if (sock.writableLength > lim.maxOutputBytes) {
        sock.destroy(); // not reading its replies
        return;
      }
      sock.write(`${JSON.stringify(reply)}\n`);
    };
    // complete request lines waiting for their turn, and the start of an unfinished one (kept as chunks: re-joining
    // a growing buffer on every byte would cost a slow sender nothing and us quadratic copying)
    const ready: string[] = [];
    let partial: Buffer[] = [];
    let partialLen = 0;
    const startStream = ({ id, command, args }: StreamRequest): void => {
      let opened: ReturnType<StreamCommand['open']>;
      // items reported while open() runs (an initiate's first events and lines) follow the first reply, never precede it
      let early: StreamItem[] | undefined = [];
      const write = (item: StreamItem) => {
        if (sock.destroyed || sock.writableEnded) return;
        // the same cap as for replies: a watcher that stops reading is cut off, the daemon never queues without
        // bound nor waits for it (this runs inside the protocol path that reported the event)
        if (sock.writableLength > lim.maxOutputBytes) {
          stopStream?.();
          return this.closeWith(sock, `more than ${lim.maxOutputBytes} bytes of events unread; closing the watch`);
        }
        sock.write(`${JSON.stringify({ id, ...item })}\n`);
      };
      try {
        opened = command.open(this.context, args, (item) => (early ? early.push(item) : write(item)));
      } catch (e) {
        return send({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
      stopStream = opened.close;
      clearTimeout(idle);
      ready.length = 0;
      send({ id, ok: true, result: opened.result });
      for (const e of early.splice(0)) write(e);
      early = undefined;
      // a stream with an end (initiate --wait): its last line is a second reply, then the connection closes
      void opened.done
        ?.then(
          (result): ControlReply => ({ id, ok: true, result }),
          (e: unknown): ControlReply => ({ id, ok: false, error: e instanceof Error ? e.message : String(e) }),
        )
        .then((reply) => {
          if (sock.destroyed || sock.writableEnded) return;
          send(reply);
          sock.end();
        });
    };
    const pump = () => {
      while (!busy && !stopStream && ready.length && !sock.destroyed && !sock.writableEnded) {
        armIdle();
        const line = ready.shift()!;
        const stream = this.streamRequest(line);
        if (stream) {
          startStream(stream);
          continue;
        }
        const reply = this.handle(line);
        if (!(reply instanceof Promise)) {
          send(reply);
          continue;
        }
        // one request at a time: stop reading until it is answered, so `ready` stays small
        busy = true;
        sock.pause();
        void reply.then((r) => {
          busy = false;
          send(r);
          armIdle();
          sock.resume();
          pump();
        });
      }
    };
    const tooLong = () => this.closeWith(sock, `request longer than ${lim.maxRequestBytes} bytes; closing`);
    sock.on('data', (chunk: Buffer) => {
      if (sock.writableEnded || stopStream) return;
      let from = 0;
      let nl: number;
      while ((nl = chunk.indexOf(0x0a, from)) >= 0) {
        if (partialLen + nl - from > lim.maxRequestBytes) return tooLong();
        ready.push(Buffer.concat([...partial, chunk.subarray(from, nl)]).toString('utf8'));
        partial = [];
        partialLen = 0;
        from = nl + 1;
      }
      if (from < chunk.length) {
        partial.push(chunk.subarray(from));
        if ((partialLen += chunk.length - from) > lim.maxRequestBytes) return tooLong();
      }
      pump();
    });
  }

  /** An error line, then the connection goes (at once if the client does not take the line). */
  private closeWith(sock: net.Socket, error: string): void {
    if (sock.destroyed || sock.writableEnded) return;
    const reply: ControlReply = { id: 0, ok: false, error };
    sock.end(`${JSON.stringify(reply)}\n`, () => sock.destroy());
    setTimeout(() => sock.destroy(), 1000).unref();
  }

  /** A request line for a streaming verb (watch), or undefined: everything else, errors included, goes to handle(). */
  private streamRequest(line: string): StreamRequest | undefined {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) return undefined;
    const { id, cmd, args } = req as Partial<ControlRequest>;
    const command = typeof cmd === 'string' ? STREAM_COMMANDS.get(cmd) : undefined;
    if (!command) return undefined;
    return { id: typeof id === 'number' ? id : 0, command, args: (args ?? {}) as ControlArgs };
  }

  /**
   * One request line: parsed here, run from the command table (commands/table.ts). Synchronous for every command
   * but ping and load, which wait for their replies / the file.
   */
  handle(line: string): ControlReply | Promise<ControlReply> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line);
    } catch {
      return { id: 0, ok: false, error: 'request is not valid JSON' };
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req))
      return { id: 0, ok: false, error: 'request must be a JSON object { id, cmd, args }' };
    const id = typeof req.id === 'number' ? req.id : 0;
    const outcome = runCommand(this.commands, this.context, req.cmd, (req.args ?? {}) as ControlArgs);
    return outcome instanceof Promise ? outcome.then((o): ControlReply => ({ id, ...o })) : { id, ...outcome };
  }

  async close(): Promise<void> {
    // server.close() waits for every connection to end: end them (an idle client would hold the daemon's stop)
    for (const s of this.conns) s.destroy();
    const server = this.server;
    if (!server) return; // never listened: the path may be another daemon's socket
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.path).catch(() => {
      /* already gone */
    });
  }
}
