// A package that installs: `npm pack` in a fresh copy of the tracked files (no dist/: prepack must build it) ships
// what a user needs and nothing of the development tree, and the tarball, installed globally into a scratch prefix,
// runs README's first command; installed into a scratch project, `import { startPeer } from 'ikelab'` brings two
// peers up and the shipped declarations type-check a TypeScript user's code. The copy keeps the pack's build away
// from the dist/ other tests are running.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const root = join(__dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'ikelab-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface PackedFile {
  path: string;
}

/** The tarball the first test packed, for the tests that install it. */
let tarball: string | undefined;

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
    // prepack runs the whole build: minutes on a loaded CI machine
    timeout: 300_000,
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
  for (const must of ['dist/api.js', 'dist/api.d.ts', 'dist/api/peer.d.ts']) expect(paths, must).toContain(must);
  tarball = join(scratch, packed.filename);
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
}, 600_000);

/** A user's project: the tarball installed as a dependency (not -g), so `import ... from 'ikelab'` resolves. */
function userProject(): string {
  if (!tarball) throw new Error('no tarball: the npm pack test failed');
  const dir = join(scratch, 'user');
  if (existsSync(join(dir, 'node_modules', 'ikelab'))) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ikelab-user', private: true, type: 'module' }));
  execFileSync('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 180_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return dir;
}

test("the installed package's API: an ESM script imports startPeer from 'ikelab' and brings two peers up", () => {
  const dir = userProject();
  const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', 'ikelab', 'package.json'), 'utf8')) as { exports: unknown };
  expect(pkg.exports).toEqual({ '.': { types: './dist/api.d.ts', import: './dist/api.js' }, './package.json': './package.json' });
  // demo-a / demo-b on addresses and ports of their own (other tests may run the demo meanwhile)
  writeFileSync(
    join(dir, 'peers.mjs'),
    `import { startPeer } from 'ikelab';
const peerConfig = (me, peer, localTs, remoteTs) => ({
  daemon: { listen: [me], port: 16300, natt_port: 16301 },
  connections: {
    demo: {
      local_addrs: [me], remote_addrs: [peer], remote_port: 16300,
      local: { auth: 'psk', id: me }, remote: { auth: 'psk', id: peer },
      children: { net: { local_ts: [localTs], remote_ts: [remoteTs] } },
    },
  },
  secrets: { 'ike-demo': { id: [me, peer], secret: 'ikelab-demo-secret' } },
});
const a = await startPeer(peerConfig('127.0.0.51', '127.0.0.52', '10.201.0.0/24', '10.202.0.0/24'));
const b = await startPeer(peerConfig('127.0.0.52', '127.0.0.51', '10.202.0.0/24', '10.201.0.0/24'));
try {
  const up = await a.initiate('net');
  const refused = await a.initiate({ child: 'net', psk: 'wrong' }).catch((e) => e.notify);
  console.log(JSON.stringify({ ike: up.ike.state, child: up.child?.state, b: b.listSas()[0]?.state, refused }));
} finally {
  await a.stop();
  await b.stop();
}
`,
  );
  const out = execFileSync(process.execPath, ['peers.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  expect(JSON.parse(out)).toEqual({ ike: 'ESTABLISHED', child: 'INSTALLED', b: 'ESTABLISHED', refused: 'AUTHENTICATION_FAILED' });
}, 300_000);

test("the shipped declarations type-check a user's TypeScript and refuse wrong uses (tsc, no skipLibCheck)", () => {
  const dir = userProject();
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        // @types/node as the user would have it; the repository's copy, so no download
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['check.ts'],
    }),
  );
  writeFileSync(
    join(dir, 'check.ts'),
    `import { ConfigError, type IkelabEvent, type InitiateResult, type Peer, PeerError, startPeer } from 'ikelab';

export async function use(): Promise<string | undefined> {
  const a: Peer = await startPeer('config/demo-a.yaml', { log: (line: string) => void line });
  const up: InitiateResult = await a.initiate({ child: 'net', espProposals: ['aes128gcm16'], timeoutMs: 5000 });
  const off: () => void = a.on('child.', (e: IkelabEvent) => void e.childId);
  off();
  const e = await a.waitFor('ike.established', { match: { ike: 'demo' }, timeoutMs: 100 });
  a.fault.add('x', { match: { exchange: 'IKE_AUTH', request: true }, action: 'drop', count: 1 });
  const rekeyed: number | undefined = (await a.rekey({ ike: 'demo' })).ikeId;
  await a.stop();
  // @ts-expect-error: not a log target
  await startPeer('x.yaml', { log: 'loud' });
  // @ts-expect-error: a child is named by a string
  await a.initiate(42);
  try {
    await a.initiate('net');
  } catch (err) {
    if (err instanceof PeerError) return err.notify;
    if (err instanceof ConfigError) return err.keyPath;
  }
  return \`\${up.ike.state} \${up.child?.spiIn} \${e.event} \${rekeyed}\`;
}
`,
  );
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  // tsc reports on stdout: that is what a failure must show
  const errors = (): string => {
    try {
      execFileSync(tsc, ['-p', dir], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
      return '';
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? e);
    }
  };
  // one run proves both: the file type-checks, and the declarations are not `any` (an @ts-expect-error that
  // expects nothing is an error of its own)
  expect(errors()).toBe('');
}, 300_000);
