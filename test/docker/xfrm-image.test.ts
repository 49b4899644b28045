// The xfrm image (docker/Dockerfile --target xfrm, README "Kernel ESP on a Docker host"): runs
// `scripts/lab.sh xfrm-image`, which builds the runtime and xfrm targets, then in throw-away containers checks that
// the default image is still the unprivileged one without iproute2, that `ip xfrm state` works in the xfrm image
// with NET_ADMIN and fails without it, and that `ikelab start` with ipsec_backend xfrm comes up there (UDP_ENCAP
// and the IKE bypass policies set through perl), stops on SIGTERM, and refuses to start without NET_ADMIN.
// Same requirements and skip rules as labs.test.ts (docker, root or a running engine; CI makes them mandatory).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { decideDocker, dockerLeftovers, engineAnswers } from './docker-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'lab.sh');
/** A cold build (base images, npm ci, apt-get) takes minutes; a warm one well under a minute. */
const RUN_LIMIT_MS = 10 * 60_000;

const RUN = decideDocker('XFRM IMAGE CHECK');

interface Result {
  code: number | null;
  output: string;
  evidence: string[];
}

function runCheck(): Promise<Result> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn('bash', [SCRIPT, 'xfrm-image'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    // SIGTERM lets the script's trap remove its containers and stop the dockerd it started
    let killTimer: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => {
      output += `\n[test] scripts/lab.sh xfrm-image exceeded ${RUN_LIMIT_MS / 1000} s: SIGTERM\n`;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    }, RUN_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(limit);
      if (killTimer) clearTimeout(killTimer);
      const evidence = output.split('\n').flatMap((l) => (l.startsWith('EVIDENCE ') ? [l.slice('EVIDENCE '.length)] : []));
      resolve({ code, output, evidence });
    });
  });
}

describe.skipIf(!RUN)('xfrm image (scripts/lab.sh xfrm-image)', () => {
  let r: Result;

  beforeAll(async () => {
    r = await runCheck();
    const check = /^CHECK xfrm-image .*$/m.exec(r.output)?.[0] ?? 'no CHECK line';
    process.stdout.write(`[xfrm image] ${check} (exit ${r.code})\n`);
  }, RUN_LIMIT_MS + 90_000);

  const e = () => r.evidence.join('\n');
  const tail = () => r.output.slice(-8000);

  test('the check passes and the default target is still the unprivileged image without iproute2', () => {
    expect(r.output, tail()).toMatch(/^CHECK xfrm-image PASS \(\d+ s\)$/m);
    expect(r.code, tail()).toBe(0);
    expect(e()).toMatch(/^runtime-image: uid 10001, ip: none$/m);
  });

  test('ip xfrm state works in the xfrm image with NET_ADMIN, as root, and fails without NET_ADMIN', () => {
    expect(e()).toMatch(/^xfrm-image: uid 0$/m);
    expect(e()).toMatch(/^xfrm-image: ip utility, iproute2-\S+/m);
    expect(e()).toMatch(/^xfrm-image: SAD count \d+$/m);
    expect(e()).toMatch(/^xfrm-image: ip xfrm state: exit 0$/m);
    expect(e()).toMatch(/^xfrm-image: perl v5\.\d+\.\d+$/m);
    expect(e()).toMatch(/^xfrm-image: without NET_ADMIN: ip xfrm state: exit [1-9]\d*: /m);
  });

  test('ikelab start with ipsec_backend xfrm comes up (UDP_ENCAP, IKE bypass policies) and stops cleanly', () => {
    expect(e()).toMatch(/^xfrm-image: .*Starting ikelab IKEv2 daemon/m);
    expect(e()).toMatch(/^xfrm-image: .*\[4500\]: UDP decapsulation enabled \(UDP_ENCAP_ESPINUDP\)/m);
    expect(e()).toMatch(/^xfrm-image: .*\[500\]: IKE bypass policies installed/m);
    expect(e()).toMatch(/^xfrm-image: .*\[4500\]: IKE bypass policies installed/m);
    // the kernel holds them: socket policies, not SPD entries
    expect(e()).toMatch(/^xfrm-image: ip -s xfrm policy count: .*\(Sock: IN [1-9]\d* OUT [1-9]\d* FWD 0\)$/m);
    expect(e()).not.toMatch(/bypass policy failed/);
    expect(e()).toMatch(/^xfrm-image: ikelab start: exit 0$/m);
    expect(e()).toMatch(/^xfrm-image: without NET_ADMIN: ikelab start: exit 2: daemon\.ipsec_backend/m);
  });

  test('nothing is left: no container of the check', () => {
    if (!engineAnswers()) return; // the script stopped the dockerd it started
    expect(dockerLeftovers('label=org.ikelab.xfrm-check')).toBe('');
  });
});
