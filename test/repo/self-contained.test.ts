// The repository stands alone: a user clones only it, so no file in it may point at the development machine's
// folders or at anything beside the repository. Every file git knows of (tracked, plus new files not ignored,
// so a file is caught before it is committed) is searched for such paths; binary files (captures) are skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Built from pieces so that this file does not contain what it looks for.
const slash = '/';
const FORBIDDEN: { text: string; why: string }[] = [
  { text: ['..', 'shared'].join(slash), why: 'material beside the repository (copy data into test/fixtures/)' },
  { text: `${slash}work${slash}`, why: 'a folder of the development machine (resolve paths from import.meta.url)' },
  { text: [`${slash}tmp`, 'ikelab'].join(slash), why: 'a hard-coded temp path (use os.tmpdir() / mktemp)' },
];

const BINARY_EXTENSIONS = /\.(pcap|pcapng|png|jpe?g|gif|ico|gz|tgz|zip|woff2?)$/i;

function repoFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return [...new Set(out.split('\0').filter(Boolean))].sort();
}

function isText(buf: Buffer): boolean {
  return !buf.subarray(0, 8000).includes(0); // git's own test: a NUL byte near the start means binary
}

/** `file:line: text` for every forbidden path in the text files among `files` (relative to `root`). */
function findForbidden(root: string, files: string[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    const full = join(root, f);
    if (BINARY_EXTENSIONS.test(f) || !existsSync(full) || !statSync(full).isFile()) continue; // deleted, or a link to a folder
    const buf = readFileSync(full);
    if (!isText(buf)) continue;
    buf
      .toString('utf8')
      .split('\n')
      .forEach((line, k) => {
        for (const { text, why } of FORBIDDEN) {
          if (line.includes(text)) hits.push(`${f}:${k + 1}: ${text} (${why}): ${line.trim().slice(0, 160)}`);
        }
      });
  }
  return hits;
}

describe.skipIf(!existsSync(join(ROOT, '.git')))('a self-contained repository', () => {
  test('the search sees the sources, docs, configs and fixtures', () => {
    const files = repoFiles();
    for (const f of [
      'package.json',
      'README.md',
      '.ci/run',
      'src/cli.ts',
      'config/example.yaml',
      'test/fixtures/kat/README.md',
      'test/fixtures/charon-logs/NOTES.md',
    ]) {
      expect(files).toContain(f);
    }
  });

  test('the check finds each pattern in text files and skips binary ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikelab-self-contained-'));
    try {
      const lines = FORBIDDEN.map((p) => `see ${p.text}x`);
      writeFileSync(join(dir, 'doc.md'), `fine\n${lines.join('\n')}\n`);
      writeFileSync(join(dir, 'capture.pcap'), lines.join('\n'));
      writeFileSync(join(dir, 'blob.bin'), Buffer.concat([Buffer.from([0]), Buffer.from(lines.join('\n'))]));
      const hits = findForbidden(dir, ['doc.md', 'capture.pcap', 'blob.bin', 'gone.txt']);
      expect(hits).toHaveLength(FORBIDDEN.length);
      FORBIDDEN.forEach((p, k) => expect(hits[k]).toContain(`doc.md:${k + 2}: ${p.text}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(findForbidden(ROOT, ['test/repo/self-contained.test.ts'])).toEqual([]); // this file spells none of them
  });

  test('no file refers to the machine it was written on or to anything beside the repository', () => {
    expect(findForbidden(ROOT, repoFiles())).toEqual([]);
  });
});
