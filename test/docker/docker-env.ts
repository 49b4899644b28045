// Whether the Docker tests (test/docker/*.test.ts) can run here, and the loud skip or failure when they cannot.
// They need docker.io, docker-compose 1.29 and root (scripts/lab.sh starts dockerd) or a running engine. Without
// them: skipped with a loud message; with CI set (or IKELAB_REQUIRE_DOCKER=1): they fail. IKELAB_DOCKER_LABS=0
// skips them on purpose (loudly).
import { execFileSync } from 'node:child_process';

function has(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function engineAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why the Docker tests cannot run here, or null when they can. */
function unavailable(): string | null {
  const missing: string[] = [];
  if (!has('docker')) missing.push('docker CLI not found (apt-get install docker.io)');
  if (!has('docker-compose')) missing.push('docker-compose not found (apt-get install docker-compose)');
  if (missing.length === 0 && !engineAnswers()) {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!root) missing.push('no Docker engine answers and only root can start dockerd');
    else if (!has('dockerd')) missing.push('no Docker engine answers and dockerd is not installed');
  }
  return missing.length ? missing.join('; ') : null;
}

export function boxed(message: string): string {
  const bar = '!'.repeat(100);
  const lines: string[] = [];
  let cur = '';
  for (const w of message.split(' ')) {
    if (cur && cur.length + 1 + w.length > 96) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return [bar, ...lines.map((l) => `! ${l.padEnd(96)} !`), bar].join('\n');
}

/** true: run; false: skipped (said loudly); throws when Docker is required (CI) but unavailable. */
export function decideDocker(what: string): boolean {
  if (process.env.IKELAB_DOCKER_LABS === '0') {
    process.stderr.write(`\n${boxed(`${what} SKIPPED: IKELAB_DOCKER_LABS=0`)}\n\n`);
    return false;
  }
  const why = unavailable();
  if (why === null) return true;
  const required = (process.env.CI !== undefined && process.env.CI !== '') || process.env.IKELAB_REQUIRE_DOCKER === '1';
  if (required) {
    const msg = `${what} REQUIRED (${process.env.CI ? `CI=${process.env.CI}` : 'IKELAB_REQUIRE_DOCKER=1'}) BUT UNAVAILABLE: ${why}`;
    process.stderr.write(`\n${boxed(msg)}\n\n`);
    throw new Error(msg);
  }
  process.stderr.write(`\n${boxed(`${what} SKIPPED: ${why}`)}\n\n`);
  return false;
}

/** Names of the containers matching a `docker ps --filter` (running or not), one a line; '' when none. */
export function dockerLeftovers(filter: string): string {
  return execFileSync('docker', ['ps', '-a', '--filter', filter, '--format', '{{.Names}}'], { encoding: 'utf8', timeout: 30_000 }).trim();
}
