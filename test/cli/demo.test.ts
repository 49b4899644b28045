// README's first command: `npm run demo` (node dist/cli.js demo) must bring a tunnel up between two ikelab
// peers on loopback without root, carry pings, list the SAs and tear them down, and say so in its exit code.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const cli = join(__dirname, '..', '..', 'dist', 'cli.js');

test('ikelab demo: tunnel up, 3 pings answered, SAs listed on both peers, deleted on both', () => {
  expect(existsSync(cli), 'run npm run build first').toBe(true);
  const out = execFileSync(process.execPath, [cli, 'demo'], { encoding: 'utf8', timeout: 30_000 });
  expect(out).toMatch(
    /peer-a charon: \d\d\[IKE\] IKE_SA demo\[1\] established between 127\.0\.0\.1\[127\.0\.0\.1\]\.\.\.127\.0\.0\.2\[127\.0\.0\.2\]/,
  );
  expect(out).toMatch(
    /peer-b charon: \d\d\[IKE\] CHILD_SA net\{1\} established with SPIs [0-9a-f]{8}_i [0-9a-f]{8}_o and TS 10\.202\.0\.0\/24 === 10\.201\.0\.0\/24/,
  );
  expect(out).toContain('3 sent, 3 received');
  expect(out).toMatch(/net: #1, INSTALLED, TUNNEL-in-UDP/);
  expect(out).toContain('demo: tunnel established and deleted on both peers');
});
