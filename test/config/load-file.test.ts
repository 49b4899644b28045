// Reading a config file (load.ts): only regular files, at most MAX_CONFIG_BYTES, the same checks synchronous (CLI,
// start-up) and asynchronous (the control socket's load); errors about files that are not configs quote nothing;
// the start-up warning for a PSK file that others can read.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { exposedSecretsWarning, loadConfig, loadConfigFile, MAX_CONFIG_BYTES, parseConfig } from '../../src/config/load.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { warnIfSecretsExposed } from '../../src/run-daemon.js';
import { peerYaml } from '../helpers/peers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-load-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The ConfigError both readers throw for path; they must agree. */
async function both(path: string): Promise<ConfigError> {
  let sync: unknown;
  try {
    loadConfig(path);
  } catch (e) {
    sync = e;
  }
  const async = await loadConfigFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(sync).toBeInstanceOf(ConfigError);
  expect(async).toBeInstanceOf(ConfigError);
  expect((async as Error).message).toBe((sync as Error).message);
  return sync as ConfigError;
}

describe('which files are read', () => {
  test('character devices, FIFOs, directories are refused without reading', async () => {
    expect((await both('/dev/zero')).message).toBe('/dev/zero: expected a regular config file, got a character device');
    expect((await both('/dev/null')).got).toBe('a character device');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect((await both(fifo)).message).toBe(`${fifo}: expected a regular config file, got a FIFO`);
    expect((await both(dir)).message).toBe(`${dir}: expected a regular config file, got a directory`);
  });

  test('a symlink to a regular file is followed; to a device it is refused', async () => {
    const real = join(dir, 'real.yaml');
    writeFileSync(real, peerYaml('A'));
    execFileSync('ln', ['-s', real, join(dir, 'link.yaml')]);
    expect(loadConfig(join(dir, 'link.yaml')).connections.map((c) => c.name)).toEqual(['demo']);
    execFileSync('ln', ['-s', '/dev/zero', join(dir, 'zero.yaml')]);
    expect((await both(join(dir, 'zero.yaml'))).got).toBe('a character device');
  });

  test('size: exactly MAX_CONFIG_BYTES is read, one byte more is refused', async () => {
    const ok = join(dir, 'ok.yaml');
    const text = peerYaml('A');
    writeFileSync(ok, text + '#'.repeat(MAX_CONFIG_BYTES - Buffer.byteLength(text)));
    expect(loadConfig(ok).connections).toHaveLength(1);
    expect((await loadConfigFile(ok)).config.connections).toHaveLength(1);
    writeFileSync(ok, text + '#'.repeat(MAX_CONFIG_BYTES - Buffer.byteLength(text) + 1));
    expect((await both(ok)).message).toBe(
      `${ok}: expected a config file of at most ${MAX_CONFIG_BYTES} bytes, got ${MAX_CONFIG_BYTES + 1} bytes`,
    );
  });

  test('a file whose stat size is 0 (/proc) is read all the same (what is read is counted, not st_size)', async () => {
    const e = await both('/proc/self/comm');
    expect(e.message).toBe(
      '/proc/self/comm: expected the config file as a mapping with keys daemon, connections, secrets, faults, got text (file contents not shown) [line 1, column 1]',
    );
  });

  test('missing and unreadable files keep the old message; the mode comes back with the text', async () => {
    expect((await both(join(dir, 'nope.yaml'))).message).toMatch(/nope\.yaml: expected a readable config file, got ENOENT/);
    const f = join(dir, 'm.yaml');
    writeFileSync(f, peerYaml('A'));
    chmodSync(f, 0o640);
    expect((await loadConfigFile(f)).mode & 0o777).toBe(0o640);
  });
});

describe('files that are not configs: no text quoted', () => {
  const msg = (text: string) => {
    try {
      parseConfig(text, 'f');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  test('shadow, passwd, plain text', () => {
    const shadow = msg('root:$6$salt$HASHhash:19000:0:99999:7:::\n');
    expect(shadow).toBe(
      'f: expected the config file as a mapping with keys daemon, connections, secrets, faults, got a mapping whose keys are not config key names (file contents not shown) [line 1, column 1]',
    );
    expect(msg('bin:x:2:2:bin:/bin:/usr/sbin/nologin\n')).toBe(
      'f: expected the config file as a mapping with keys daemon, connections, secrets, faults, got text (file contents not shown) [line 1, column 1]',
    );
    // the offending line is named even when it is not the first
    expect(msg('daemon: {}\nroot:$6$x:1:::\n')).toMatch(/not config key names \(file contents not shown\) \[line 2, column 1\]$/);
  });

  test("a YAML error in such a file gives only the parser's error code", () => {
    expect(msg('*HUNTER2 [\n- : x\n')).not.toContain('HUNTER2');
    expect(msg('root:$6$x:1::: [\n  bad')).toMatch(/^f: expected valid YAML, got a syntax error \([A-Z_]+\) \[line \d+, column \d+\]$/);
  });

  test('an empty or comment-only file is still a config without connections', () => {
    expect(parseConfig('# nothing yet\n', 'f').connections).toEqual([]);
    expect(parseConfig('', 'f').connections).toEqual([]);
  });
});

describe('the PSK file permission warning at start', () => {
  const warnings = (mode: number, yaml = peerYaml('A')) => {
    const f = join(dir, 'psk.yaml');
    writeFileSync(f, yaml);
    chmodSync(f, mode);
    const sink = new MemorySink();
    warnIfSecretsExposed(loadConfig(f), new Logger({}, [sink]));
    return sink.records.map((r) => `${r.group}${r.level} ${r.message}`);
  };

  test('0644 and 0640 warn, 0600 and 0400 do not', () => {
    const f = join(dir, 'psk.yaml');
    expect(warnings(0o644)).toEqual([
      `CFG1 config file ${f} holds 1 secret(s) but permissions 0644 give group or others access to it; chmod 600 it`,
    ]);
    expect(warnings(0o640)).toHaveLength(1);
    expect(warnings(0o604)).toHaveLength(1);
    expect(warnings(0o600)).toEqual([]);
    expect(warnings(0o400)).toEqual([]);
  });

  test('no secrets, no warning; a config not read from a file is not checked', () => {
    expect(warnings(0o644, peerYaml('A').replace(/secrets:[\s\S]*$/, ''))).toEqual([]);
    expect(exposedSecretsWarning(parseConfig(peerYaml('A'), 'x.yaml'), 0o100600)).toBeUndefined();
    const sink = new MemorySink();
    warnIfSecretsExposed(parseConfig(peerYaml('A'), join(dir, 'not-there.yaml')), new Logger({}, [sink]));
    expect(sink.records).toEqual([]);
  });
});
