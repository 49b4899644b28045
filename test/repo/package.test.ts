// A package that installs: `npm pack` in a fresh copy of the tracked files (no dist/: prepack must build it) ships
// what a user needs and nothing of the development tree, and the tarball, installed globally into a scratch prefix,
// runs README's first command. The copy keeps the pack's build away from the dist/ other tests are running.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const root = join(__dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'ikelab-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface PackedFile {
  path: string;
}

test('npm pack builds and ships dist, config, scenarios, docs, README, LICENSE, CHANGELOG; no sources or tests', () => {
  const copy = join(scratch, 'clone');
  // the work tree as a clone of it would be: tracked and new files, nothing git ignores (dist/, node_modules/)
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const f of tracked) {
    if (!existsSync(join(root, f))) continue; // deleted in the work tree, not yet committed
    mkdirSync(join(copy, f, '..'), { recursive: true });
    cpSync(join(root, f), join(copy, f));
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  expect(existsSync(join(copy, 'dist'))).toBe(false);
  const out = execFileSync('npm', ['pack', '--pack-destination', scratch, '--json'], {
    cwd: copy,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [packed] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string; files: PackedFile[] }];
  const paths = packed.files.map((f) => f.path);
  for (const must of ['dist/cli.js', 'config/example.yaml', 'README.md', 'LICENSE', 'CHANGELOG.md', 'package.json'])
    expect(paths, must).toContain(must);
  expect(paths.filter((p) => /^(src|test|scripts|docker|node_modules)\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')))).toEqual(
    [],
  );
  expect(paths.some((p) => p.endsWith('.map'))).toBe(false);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string };
  expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toContain(`${pkg.license} License`);

  // install the tarball as a user would (npm install -g), into a scratch prefix, from the local npm cache
  const prefix = join(scratch, 'prefix');
  execFileSync(
    'npm',
    ['install', '-g', '--prefix', prefix, join(scratch, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'],
    {
      encoding: 'utf8',
      timeout: 180_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const demo = execFileSync(join(prefix, 'bin', 'ikelab'), ['demo'], { encoding: 'utf8', timeout: 60_000 });
  expect(demo).toContain('demo: tunnel established and deleted on both peers');
}, 300_000);
