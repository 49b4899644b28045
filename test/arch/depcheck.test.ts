// `npm run depcheck` (part of `npm test`) must actually catch what it is there for: a runtime import cycle, and an
// import against the layering, type-only imports included. Run here on a small tree made for the purpose with the
// repository's own two dependency-cruiser configs; type-only cycles must pass.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
let dir = '';

const FILES: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
    include: ['src/**/*.ts'],
  }),
  // allowed: ike -> ipsec/backend, ipsec -> wire, value and type imports along the layers
  'src/wire/types.ts': 'export interface Ts { a: number }\n',
  'src/ipsec/backend.ts':
    "import type { Ts } from '../wire/types.js';\nexport interface Backend { install(ts: Ts): void }\nexport const none: Backend = { install() {} };\n",
  'src/ike/ok.ts': "import { none } from '../ipsec/backend.js';\nexport const use = () => none.install({ a: 1 });\n",
  // a type-only cycle: fine at run time
  'src/ike/sa.ts': "import type { Manager } from './manager.js';\nexport interface Sa { m?: Manager }\nexport const sa = 1;\n",
  'src/ike/manager.ts': "import { sa, type Sa } from './sa.js';\nexport interface Manager { s?: Sa }\nexport const m = sa;\n",
  // a runtime cycle
  'src/ike/timers.ts': "import { Rekey } from './rekey.js';\nexport const start = () => new Rekey();\n",
  'src/ike/rekey.ts': "import { start } from './timers.js';\nexport class Rekey { again = () => start(); }\n",
  // layering: ipsec must not import ike, not even a type
  'src/ipsec/engine.ts': "import type { Sa } from '../ike/sa.js';\nexport const label = (s: Sa) => String(s);\n",
  // layering: wire is the pure codec
  'src/wire/codec.ts': "import { none } from '../ipsec/backend.js';\nexport const x = none;\n",
  // layering: the operations never reach up into the control layer (a type import counts too); down to ike is fine
  'src/control/reply.ts': 'export interface Reply { ok: boolean }\n',
  'src/ops/initiate.ts':
    "import type { Reply } from '../control/reply.js';\nimport { use } from '../ike/ok.js';\nexport const run = (): Reply => ({ ok: !!use });\n",
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-depcheck-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cruise(config: string): { status: number | null; out: string } {
  const r = spawnSync(DEPCRUISE, ['src', '--config', join(ROOT, config), '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('layering: ipsec -> ike (type-only), wire -> ipsec, ops -> control fail; imports along the layers pass', { timeout: 60_000 }, () => {
  const r = cruise('.dependency-cruiser.cjs');
  expect(r.status).not.toBe(0);
  expect(r.out).toContain('ipsec-never-ike: src/ipsec/engine.ts → src/ike/sa.ts');
  expect(r.out).toContain('wire-is-pure: src/wire/codec.ts → src/ipsec/backend.ts');
  expect(r.out).toContain('ops-below-outer: src/ops/initiate.ts → src/control/reply.ts');
  expect(r.out).not.toContain('src/ike/ok.ts');
  expect(r.out).not.toContain('src/ops/initiate.ts → src/ike/ok.ts');
  expect(r.out).toMatch(/x 3 dependency violations/);
});

test('cycles: a runtime cycle fails, a type-only one does not', { timeout: 60_000 }, () => {
  const r = cruise('.dependency-cruiser-cycles.cjs');
  expect(r.status).not.toBe(0);
  expect(r.out).toMatch(/no-runtime-cycle: src\/ike\/(timers|rekey)\.ts/);
  expect(r.out).not.toMatch(/src\/ike\/(sa|manager)\.ts/);
});
