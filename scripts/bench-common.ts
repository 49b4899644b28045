// What both lab benchmarks need besides test/helpers/lab.ts: the child processes a benchmark starts itself
// (killed by PID on every way out, never by name), CPU time from /proc, and a one-line machine description.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Lab } from '../test/helpers/lab.js';

const mine = new Set<ChildProcess>();

export function killMine(): void {
  for (const c of mine) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  mine.clear();
}

// Registered when this module loads, i.e. before Lab.create installs its own handlers, so this one runs first:
// kill what the benchmark started, then exit, which runs the lab's synchronous 'exit' clean-up.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: cleaning up\n`);
    killMine();
    process.exit(130);
  });
}
process.on('exit', killMine);

function hasPdeathsig(): boolean {
  try {
    return execFileSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 5000 }).includes('--pdeathsig');
  } catch {
    return false;
  }
}
export const PDEATH = hasPdeathsig() ? ['setpriv', '--pdeathsig', 'KILL'] : [];

/** Start a long-running command inside one of the lab's namespaces, output appended to logPath. */
export function spawnIn(lab: Lab, ns: 's' | 'k', cmd: string[], logPath: string): ChildProcess {
  const fd = fs.openSync(logPath, 'a');
  try {
    const c = spawn('ip', ['netns', 'exec', lab.ns[ns], ...PDEATH, ...cmd], { stdio: ['ignore', fd, fd] });
    mine.add(c);
    c.once('exit', () => mine.delete(c));
    return c;
  } finally {
    fs.closeSync(fd);
  }
}

/** SIGTERM, SIGKILL after graceMs, then wait for the exit. */
export async function stopChild(c: ChildProcess, graceMs = 2000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Clock ticks per second, for utime/stime in /proc/PID/stat. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU model and count, load, node, strongSwan and kernel versions: what a reader needs to weigh the numbers. */
export function machine(): string {
  const cpus = os.cpus();
  let swan = '';
  try {
    // `swanctl --version` asks the daemon; the usage text names the installed version without one
    const r = spawnSync('swanctl', ['--help'], { encoding: 'utf8', timeout: 5000 });
    swan = /strongSwan [\d.]+/.exec(`${r.stdout}${r.stderr}`)?.[0] ?? 'strongSwan';
  } catch {
    swan = 'strongSwan';
  }
  const la = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `${cpus[0]?.model ?? 'cpu?'} x ${cpus.length}, load avg ${la}, node ${process.version}, ${swan} (kernel-libipsec), linux ${os.release()}`;
}
