// The daemon's control socket (a Unix socket, path from daemon.control_socket). Requests are handled one line
// at a time; a bad request gets an error reply, never a crash.
import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { loadConfig } from '../config/load.js';
import { ControlError, type Daemon } from '../daemon.js';
import type { ControlReply, ControlRequest } from './protocol.js';

export class ControlServer {
  private server?: net.Server;

  constructor(private readonly daemon: Daemon, private readonly path: string) {}

  async start(): Promise<void> {
    if (existsSync(this.path)) {
      // A stale socket from a crashed run is removed; a live one means another daemon owns the path.
      const alive = await new Promise<boolean>((resolve) => {
        const c = net.connect(this.path, () => { c.destroy(); resolve(true); });
        c.on('error', () => resolve(false));
      });
      if (alive) throw new Error(`control socket ${this.path} is in use by another ikelab daemon`);
      unlinkSync(this.path);
    }
    this.server = net.createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 1 << 20) return sock.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void Promise.resolve(this.handle(line)).then((reply) => {
          if (!sock.destroyed) sock.write(JSON.stringify(reply) + '\n');
        });
      }
    });
  }

  /** Synchronous for every command but ping, which waits for its replies. */
  handle(line: string): ControlReply | Promise<ControlReply> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line);
    } catch {
      return { id: 0, ok: false, error: 'request is not valid JSON' };
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) return { id: 0, ok: false, error: 'request must be a JSON object { id, cmd, args }' };
    const id = typeof req.id === 'number' ? req.id : 0;
    const a = req.args ?? {};
    const str = (k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
    try {
      switch (req.cmd) {
        case 'hello':
          return { id, ok: true, result: 'ikelab' };
        case 'initiate': {
          const count = Number(str('count') ?? 1);
          if (count !== 1) return { id, ok: true, result: { initiating: this.daemon.initiateMany(str('ike'), str('child'), count, Number(str('rate') ?? 0)) } };
          const sa = this.daemon.initiate(str('ike'), str('child'));
          return { id, ok: true, result: { ike: sa.name, uniqueId: sa.uniqueId, state: sa.state } };
        }
        case 'terminate':
          return { id, ok: true, result: { terminated: this.daemon.terminate(str('ike'), str('child')) } };
        case 'rekey':
          return { id, ok: true, result: { rekeying: this.daemon.rekey(str('ike'), str('child')) } };
        case 'fault': {
          const mode = str('mode');
          if (mode !== 'silent' && mode !== 'normal' && mode !== 'delay') return { id, ok: false, error: 'fault needs --mode silent|delay|normal' };
          const ms = Number(str('ms') ?? 0);
          if (mode === 'delay' && !(ms > 0 && ms <= 60_000)) return { id, ok: false, error: 'fault --mode delay needs --ms N (1..60000)' };
          return { id, ok: true, result: { fault: this.daemon.setFault(mode, str('ike'), ms) } };
        }
        case 'list-sas':
          return { id, ok: true, result: this.daemon.listSas() };
        case 'ipsec-sa':
          return { id, ok: true, result: this.daemon.ipsecSaView() };
        case 'ping': {
          const child = str('child');
          const dst = str('dst');
          if (!child || !dst) return { id, ok: false, error: 'ping needs --child NAME and --dst ADDRESS' };
          const num = (k: string, d: number) => (str(k) !== undefined ? Number(str(k)) : d);
          const count = num('count', 3);
          const size = num('size', 56);
          if (!(count >= 1 && count <= 10_000) || !(size >= 0 && size <= 65_000)) return { id, ok: false, error: 'ping: --count 1..10000, --size 0..65000' };
          return this.daemon
            .ping({ child, dst, src: str('src'), count, size, intervalMs: num('interval', 200), timeoutMs: num('timeout', 2000) })
            .then((result): ControlReply => ({ id, ok: true, result }), (e: Error): ControlReply => ({ id, ok: false, error: e.message }));
        }
        case 'stats':
          return { id, ok: true, result: this.daemon.stats() };
        case 'load': {
          const file = str('config') ?? this.daemon.config.file;
          this.daemon.reload(loadConfig(file));
          return { id, ok: true, result: { loaded: file, connections: this.daemon.config.connections.map((c) => c.name) } };
        }
        default:
          return { id, ok: false, error: `unknown command '${String(req.cmd)}'` };
      }
    } catch (e) {
      if (e instanceof ControlError || e instanceof Error) return { id, ok: false, error: e.message };
      return { id, ok: false, error: String(e) };
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
