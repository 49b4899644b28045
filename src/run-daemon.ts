// Run one daemon with its control socket until a signal arrives, and `ikelab start` around it: the config checks
// of start-up, charon's start-up lines, bind problems reported at the config key that caused them, and a shutdown
// that says goodbye to every peer (DELETE for each established IKE_SA) before the process exits.
import { readFileSync, statSync } from 'node:fs';
import { machine, release, type as osType } from 'node:os';
import { ConfigError } from './config/errors.js';
import { exposedSecretsWarning, locateKey, parseConfig, readConfigFileSync } from './config/load.js';
import type { IkelabConfig } from './config/types.js';
import { ControlServer } from './control/server.js';
import { Daemon } from './daemon.js';
import { createLogger, LogFileError } from './log/setup.js';
import type { Logger } from './log/logger.js';
import { untilGone } from './util/until-gone.js';

export interface Running {
  daemon: Daemon;
  control: ControlServer;
  log: Logger;
  /** DELETE for every established IKE_SA, waiting up to waitMs for the answers (0: none sent, as before). */
  stop(opts?: { deleteWaitMs?: number }): Promise<void>;
}

/** Where a key sits in the config file, for problems found after loading (a port that cannot be bound). */
export type Locate = (path: (string | number)[]) => { line: number; column: number } | undefined;

export interface RunOptions {
  /** Log charon's start-up lines: listening addresses, control socket, loaded keys and connections. */
  announce?: boolean;
  /** Turns socket errors into ConfigErrors naming daemon.port / daemon.natt_port / daemon.listen / control_socket. */
  locate?: Locate;
}

export async function runDaemon(cfg: IkelabConfig, log = createLogger(cfg.daemon.log), opts: RunOptions = {}): Promise<Running> {
  warnIfSecretsExposed(cfg, log);
  const daemon = new Daemon(cfg, { log });
  const control = new ControlServer(daemon, cfg.daemon.controlSocket, { log });
  try {
    await control.start();
  } catch (e) {
    throw opts.locate ? controlSocketError(cfg, e, opts.locate) : e;
  }
  const release = control.holdRequests();
  try {
    await daemon.start(opts.announce ? () => announce(cfg, daemon, log) : undefined);
  } catch (e) {
    await daemon.stop();
    await control.close();
    throw opts.locate ? bindError(cfg, e, opts.locate) : e;
  } finally {
    release();
  }
  let stopped = false;
  return {
    daemon,
    control,
    log,
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      if (o.deleteWaitMs) await deleteAll(daemon, log, o.deleteWaitMs);
      await daemon.stop();
      await control.close();
      await log.close();
    },
  };
}

/** Like ssh with a private key: a config file holding PSKs should be readable by its owner only. */
export function warnIfSecretsExposed(cfg: IkelabConfig, log: Logger): void {
  let mode: number;
  try {
    mode = statSync(cfg.file).mode;
  } catch {
    return; // not from a file (tests build configs from text)
  }
  const warning = exposedSecretsWarning(cfg, mode);
  if (warning) log.log('CFG', 1, warning);
}

/** package.json's version (dist/ and src/ both sit one level below it). */
export function ikelabVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** charon's first line, `Starting IKE charon daemon (strongSwan 5.9.8, Linux 6.1.0, x86_64)`, for ikelab. */
export function startingLine(): string {
  return `Starting ikelab IKEv2 daemon (ikelab ${ikelabVersion()}, Node ${process.version}, ${osType()} ${release()}, ${machine()})`;
}

/** What the daemon listens on and what it loaded, logged once the sockets are bound and before anything starts. */
function announce(cfg: IkelabConfig, daemon: Daemon, log: Logger): void {
  const d = cfg.daemon;
  for (const addr of daemon.bound ?? d.listen)
    log.log('DMN', 1, `listening on ${addr}[${d.port}] (IKE) and ${addr}[${d.nattPort}] (NAT-T)`);
  log.log('DMN', 1, `control socket ${d.controlSocket}`);
  // the wording charon (vici) uses for a loaded key, and swanctl's for a loaded connection: ikelab loads both
  // from its one file, as `swanctl --load-all` hands them to charon
  for (const s of cfg.secrets) log.log('CFG', 1, `loaded IKE shared key with id '${s.name}' for: ${s.ids.map((i) => `'${i}'`).join(', ')}`);
  for (const c of cfg.connections) {
    log.log('CFG', 1, `loaded connection '${c.name}'`);
    log.log(
      'CFG',
      2,
      `  ${c.localAddrs.join(',')}...${c.remoteAddrs.join(',')}, children: ${c.children.map((ch) => `${ch.name} (${ch.startAction})`).join(', ') || 'none'}`,
    );
  }
}

/**
 * charon on shutdown deletes its IKE_SAs so peers do not wait for DPD to notice; ikelab does the same and also
 * waits (bounded) for the answers, so the peer has processed the DELETE before our sockets close. The bound counts
 * from the first DELETE, not the last: with 10,000 SAs sending them all takes a good part of a second, and a busy
 * peer answers slowly, so a wait after the sending made shutdown take 2.8 s at 9,000 SAs (issue 16 wants < 2 s).
 */
export async function deleteAll(daemon: Daemon, log: Logger, waitMs: number): Promise<void> {
  const established = daemon.table.list().filter((sa) => sa.state === 'ESTABLISHED' || sa.state === 'REKEYING');
  if (!established.length) return;
  // subscribed before the first DELETE: the bound counts from there, and an SA destroyed at once still counts
  const answered = untilGone(established, (gone) => daemon.onIkeSaDestroyed(gone), daemon.timers, waitMs);
  for (const sa of established) {
    try {
      daemon.ops.terminate(String(sa.uniqueId));
    } catch {
      // gone in the meantime
    }
  }
  const unanswered = await answered;
  if (unanswered) log.log('DMN', 1, `${unanswered} IKE_SA(s) did not answer the DELETE within ${waitMs} ms, destroying them`);
}

/** A ConfigError on one key of the config file, with the key's line and column where `locate` finds them. */
function keyError(
  file: string,
  key: (string | number)[],
  locate: Locate,
  what: { expected: string; got: string; detail: string },
): ConfigError {
  const pos = locate(key);
  const keyPath = key.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return new ConfigError({ file, keyPath, ...what, line: pos?.line, column: pos?.column });
}

function controlSocketError(cfg: IkelabConfig, e: unknown, locate: Locate): unknown {
  if (e instanceof ConfigError) return e;
  return keyError(cfg.file, ['daemon', 'control_socket'], locate, {
    expected: 'a unix socket path ikelab can create',
    got: JSON.stringify(cfg.daemon.controlSocket),
    detail: socketDetail(e),
  });
}

function socketDetail(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') return 'another daemon is listening on it';
  return err.code ?? err.message;
}

/** A socket that would not bind, as a problem of the key that chose its address or port. */
function bindError(cfg: IkelabConfig, e: unknown, locate: Locate): unknown {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err?.syscall !== 'bind' || !err.code) return e;
  const d = cfg.daemon;
  const where = `${err.address ?? '?'}[${err.port ?? '?'}]`;
  let key: (string | number)[];
  let expected: string;
  let got: string;
  let detail: string;
  if (err.code === 'EADDRNOTAVAIL') {
    const i = d.listen.indexOf(err.address ?? '');
    key = i >= 0 ? ['daemon', 'listen', i] : ['daemon', 'listen'];
    expected = 'an address of this host';
    got = JSON.stringify(err.address);
    detail = `${where}: ${err.code}`;
  } else {
    key = err.port === d.nattPort ? ['daemon', 'natt_port'] : ['daemon', 'port'];
    expected = 'a UDP port ikelab can bind';
    got = String(err.port);
    detail =
      err.code === 'EADDRINUSE'
        ? `${where} is already bound by another process, charon or another ikelab perhaps`
        : err.code === 'EACCES'
          ? `${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; or use e.g. port: 1500 and natt_port: 4501`
          : `${where}: ${err.code}`;
  }
  return keyError(cfg.file, key, locate, { expected, got, detail });
}

/** A log file that cannot be opened is a problem of the key that names it (exit 2, file, key path and line). */
function logFileConfigError(e: LogFileError, file: string, text: string): ConfigError {
  return keyError(file, ['daemon', 'log', e.key], (path) => locateKey(text, path), {
    expected: 'a file ikelab can append to',
    got: JSON.stringify(e.path),
    detail: e.code === 'ENOENT' ? 'its directory does not exist' : e.code,
  });
}

/** How long a shutdown waits for DELETE answers (counted from the first DELETE sent) before it gives up on them. */
export const SHUTDOWN_DELETE_WAIT_MS = 1000;

/**
 * `ikelab start --config FILE`: load with the start-up checks, run until SIGTERM or SIGINT, then DELETE every
 * IKE_SA and exit 0. A second signal exits at once (128 + signal number, as a shell reports a killed process).
 * Every problem is one `ikelab: ...` line on stderr, never a stack trace: exit 2 for a config problem (a bind error
 * included: it is the config's port or address), 1 for anything else.
 */
export async function startCommand(file: string, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  const fatal = (e: unknown) => {
    stderr.write(`ikelab: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  let running: Running;
  let log: Logger | undefined;
  let text = '';
  try {
    text = readConfigFileSync(file).text;
    const cfg = parseConfig(text, file, { startup: {} });
    log = createLogger(cfg.daemon.log);
    log.log('DMN', 1, startingLine());
    running = await runDaemon(cfg, log, { announce: true, locate: (p) => locateKey(text, p) });
  } catch (e) {
    await log?.close();
    const err = e instanceof LogFileError ? logFileConfigError(e, file, text) : e;
    stderr.write(`ikelab: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    let first: NodeJS.Signals | undefined;
    const on = (sig: NodeJS.Signals) => {
      if (first) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
      first = sig;
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  running.log.log('DMN', 1, `${signal} received, shutting down`);
  await running.stop({ deleteWaitMs: SHUTDOWN_DELETE_WAIT_MS });
  return 0;
}
