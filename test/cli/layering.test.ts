// The CLI is src/cli.ts (the entry point) and its verb modules in src/cli/: the layering rules that keep the lower
// layers and the daemon from reaching up into the CLI must hold for both, and the CLI's own imports (control, ops,
// config) must stay allowed. Checked on a small tree made for the purpose with the repository's dependency-cruiser
// config, as test/arch/depcheck.test.ts does for the rules in general.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
let dir = '';

/** One type-only import of a verb module from each layer that must not know the CLI. */
const UPWARD: Record<string, string> = {
  'src/log/logger.ts': 'infra-stays-below',
  'src/ipsec/engine.ts': 'ipsec-below-outer',
  'src/ike/sa.ts': 'ike-below-outer',
  'src/faults/engine.ts': 'faults-below-outer',
  'src/ops/initiate.ts': 'ops-below-outer',
  'src/daemon.ts': 'daemon-is-not-outer',
  'src/api.ts': 'api-drives-the-daemon-only',
};

const FILES: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
    include: ['src/**/*.ts'],
  }),
  'src/cli/verb.ts': 'export interface Verb { name: string }\nexport const EXIT = { ok: 0 };\n',
  'src/control/client.ts': 'export const controlCall = () => 1;\n',
  'src/config/load.ts': 'export const loadConfig = () => 2;\n',
  'src/ops/run.ts': 'export const op = () => 3;\n',
  // allowed: a verb module uses control, ops and config; the entry point uses its verb modules
  'src/cli/lifecycle.ts':
    "import { controlCall } from '../control/client.js';\nimport { loadConfig } from '../config/load.js';\n" +
    "import { op } from '../ops/run.js';\nimport type { Verb } from './verb.js';\n" +
    'export const v: Verb = { name: String(controlCall() + loadConfig() + op()) };\n',
  'src/cli.ts': "import { v } from './cli/lifecycle.js';\nimport { EXIT } from './cli/verb.js';\nexport const x = [v, EXIT];\n",
};
for (const [file, _rule] of Object.entries(UPWARD)) {
  const up = `${'../'.repeat(file.split('/').length - 2) || './'}cli/verb.js`;
  FILES[file] = `import type { Verb } from '${up}';\nexport const name = (v: Verb) => v.name;\n`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-cli-layering-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('no lower layer, the daemon or the API imports a module of src/cli/; the CLI imports control, ops, config', {
  timeout: 60_000,
}, () => {
  const r = spawnSync(DEPCRUISE, ['src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, out).not.toBe(0);
  for (const [file, rule] of Object.entries(UPWARD)) expect(out).toContain(`${rule}: ${file} → src/cli/verb.ts`);
  expect(out).not.toContain('src/cli/lifecycle.ts →');
  expect(out).not.toContain('src/cli.ts →');
});
