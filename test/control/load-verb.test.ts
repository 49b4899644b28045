// The control socket's `load --config PATH`: only a bounded regular file, read without blocking the daemon, no
// text of a file that is not a config quoted back, and a warning when a file with PSKs is readable by others.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MAX_CONFIG_BYTES } from '../../src/config/load.js';
import { controlCall } from '../../src/control/client.js';
import { peerYaml } from '../helpers/peers.js';
import { rig, type Rig } from './helpers.js';

let r: Rig;
beforeEach(async () => {
  r = await rig();
});
afterEach(async () => {
  await r.done();
});

/** The error `load` answers with (fails the test if it succeeded). */
async function loadError(path: string): Promise<string> {
  const e = await controlCall(r.sock, 'load', { config: path }, 5000).then(
    () => undefined,
    (x: Error) => x,
  );
  expect(e, `load ${path} should fail`).toBeInstanceOf(Error);
  return e!.message;
}

/** The daemon answers a cheap request at once: nothing is stuck on the event loop. */
async function responsive(): Promise<void> {
  const t0 = Date.now();
  await expect(controlCall(r.sock, 'list-sas', {}, 2000)).resolves.toEqual([]);
  expect(Date.now() - t0).toBeLessThan(1000);
}

describe('load reads only bounded regular files', () => {
  test('/dev/zero: refused as a character device, at once', async () => {
    const t0 = Date.now();
    expect(await loadError('/dev/zero')).toBe('/dev/zero: expected a regular config file, got a character device');
    expect(Date.now() - t0).toBeLessThan(1000);
    await responsive();
  });

  test('a FIFO with no writer: refused, nothing hangs', async () => {
    const fifo = join(r.dir, 'cfg.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await loadError(fifo)).toBe(`${fifo}: expected a regular config file, got a FIFO`);
    await responsive();
  });

  test('a directory', async () => {
    const d = join(r.dir, 'conf.d');
    mkdirSync(d);
    expect(await loadError(d)).toBe(`${d}: expected a regular config file, got a directory`);
    await responsive();
  });

  test('a file over MAX_CONFIG_BYTES (1 MiB)', async () => {
    expect(MAX_CONFIG_BYTES).toBe(1024 * 1024);
    const big = join(r.dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(await loadError(big)).toBe(`${big}: expected a config file of at most 1048576 bytes, got ${MAX_CONFIG_BYTES + 3} bytes`);
    await responsive();
    expect(r.daemon.config.file).toBe('demo-a.yaml');
  });

  test('a good file still loads', async () => {
    const good = join(r.dir, 'good.yaml');
    writeFileSync(good, peerYaml('A').replace('  demo:\n', '  other:\n'), { mode: 0o600 });
    await expect(controlCall(r.sock, 'load', { config: good })).resolves.toMatchObject({ loaded: good, connections: ['other'] });
    expect(r.daemon.config.file).toBe(good);
  });
});

describe('load of a file that is not a config quotes none of it', () => {
  const SHADOW_LINE = 'root:$6$Zq3kS1aB$Xm0Hk2secretHashValue9:19000:0:99999:7:::';

  test('a shadow-like file: the error names the file and the line, not the text', async () => {
    const f = join(r.dir, 'shadow');
    writeFileSync(f, `${SHADOW_LINE}\ndaemon:*:19000:0:99999:7:::\n`, { mode: 0o600 });
    const msg = await loadError(f);
    expect(msg).toBe(
      `${f}: expected the config file as a mapping with keys daemon, connections, secrets, faults, ` +
        'got a mapping whose keys are not config key names (file contents not shown) [line 1, column 1]',
    );
    for (const part of ['root', '$6$', 'Zq3kS1aB', 'secretHashValue', '19000', '99999']) expect(msg).not.toContain(part);
    expect(r.daemon.config.file).toBe('demo-a.yaml');
  });

  test('passwd-, netrc- and key-like text, a list, an alias: no text quoted', async () => {
    const cases: Record<string, string> = {
      passwd: 'root:x:0:0:root:/root:/bin/bash\n',
      netrc: 'machine example.org login alice password s3cretPW\n',
      key: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      list: '- s3cretPW\n- other\n',
      alias: '*s3cretPW\n',
      badYaml: 's3cretPW: [unclosed\n"also: s3cretPW\n',
    };
    for (const [name, text] of Object.entries(cases)) {
      const f = join(r.dir, name);
      writeFileSync(f, text, { mode: 0o600 });
      const msg = await loadError(f);
      expect(msg, name).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: expected .*\\[line \\d+, column \\d+\\]$`));
      for (const part of ['s3cretPW', 'alice', 'root', 'b3BlbnNz', 'OPENSSH']) expect(msg, name).not.toContain(part);
    }
  });

  test('a config-shaped file keeps its precise message (file, key path, value, line)', async () => {
    const f = join(r.dir, 'bad.yaml');
    writeFileSync(f, peerYaml('A').replace('esp_proposals: [aes256gcm16]', 'esp_proposals: [bogus-thing]'), { mode: 0o600 });
    const msg = await loadError(f);
    expect(msg).toContain(`${f}: connections.demo.children.net.esp_proposals[0]: expected a strongSwan ESP proposal`);
    expect(msg).toContain('got "bogus-thing"');
    expect(msg).toMatch(/\[line \d+, column \d+\]$/);
  });
});

describe('a config file with secrets that others can read', () => {
  const warnings = () => r.sink.records.filter((x) => x.group === 'CFG' && /secret/.test(x.message)).map((x) => x.message);

  test('0644: loaded, with a CFG warning naming the file and its mode; 0600: no warning', async () => {
    const f = join(r.dir, 'psk.yaml');
    writeFileSync(f, peerYaml('A'));
    chmodSync(f, 0o644);
    await controlCall(r.sock, 'load', { config: f });
    expect(warnings()).toEqual([`config file ${f} holds 1 secret(s) but permissions 0644 give group or others access to it; chmod 600 it`]);
    expect(r.sink.records.find((x) => x.message === warnings()[0])?.level).toBe(1);
    r.sink.records.length = 0;
    chmodSync(f, 0o600);
    await controlCall(r.sock, 'load', { config: f });
    expect(warnings()).toEqual([]);
    // group-readable alone is enough, like ssh
    chmodSync(f, 0o640);
    await controlCall(r.sock, 'load', { config: f });
    expect(warnings()).toHaveLength(1);
  });

  test('no secrets in the file: no warning whatever the mode', async () => {
    const f = join(r.dir, 'nopsk.yaml');
    writeFileSync(f, peerYaml('A').replace(/secrets:[\s\S]*$/, ''));
    chmodSync(f, 0o644);
    await controlCall(r.sock, 'load', { config: f });
    expect(warnings()).toEqual([]);
  });
});
