// The command line refuses what it does not know (node:util parseArgs, strict, per verb): an unknown flag, a
// missing value, a bad number are exit 2 naming the flag, before any daemon is asked; --help per verb lists that
// verb's flags; --version is package.json's.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, vi } from 'vitest';

// every case starts node processes, seconds each on a busy CI host
vi.setConfig({ testTimeout: 120_000 });

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const NO_DAEMON = '/nonexistent/ikelab.sock';
const ikelab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('ikelab command line parsing', () => {
  test('an unknown flag: exit 2, naming it and the verb', () => {
    for (const verb of ['initiate', 'terminate', 'rekey', 'list-sas', 'list-conns', 'load', 'stats', 'ping', 'ipsec-sa', 'start']) {
      const r = ikelab(verb, '--frobnicate', '--socket', NO_DAEMON);
      expect(r.code, verb).toBe(2);
      expect(r.stderr, verb).toContain(`ikelab: ${verb}: unknown option '--frobnicate'`);
      expect(r.stderr, verb).toContain(`usage: ikelab ${verb}`);
    }
    // a flag of another verb is unknown too
    const r = ikelab('terminate', '--ike', 'demo', '--psk', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ikelab: terminate: unknown option '--psk'");
  });

  test('unknown verb, stray argument, no verb: exit 2', () => {
    const v = ikelab('frobnicate');
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("ikelab: unknown verb 'frobnicate'");
    expect(v.stderr).toContain('usage: ikelab <verb> [options]');
    const w = ikelab('list-sas', 'extra');
    expect(w.code).toBe(2);
    expect(w.stderr).toContain("ikelab: list-sas: unexpected argument 'extra'");
    expect(ikelab().code).toBe(2);
  });

  test('a missing value: exit 2 naming the flag', () => {
    for (const args of [
      ['initiate', '--child'],
      ['initiate', '--child', 'net', '--timeout'],
      ['list-sas', '--socket'],
    ]) {
      const r = ikelab(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`ikelab: ${args.at(-1)} needs a value`);
    }
  });

  test('a boolean flag given a value: exit 2', () => {
    const r = ikelab('list-sas', '--json=yes', '--socket', NO_DAEMON);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ikelab: --json takes no value');
  });

  test.each([
    [['initiate', '--child', 'net', '--count', '5', '--rate', '-5'], '--rate'],
    [['initiate', '--child', 'net', '--count', '5', '--rate=-5'], "invalid --rate '-5'"],
    [['initiate', '--child', 'net', '--count', '0'], "invalid --count '0': expected an integer >= 1 and <= 100000"],
    [['initiate', '--child', 'net', '--count', '2.5'], "invalid --count '2.5'"],
    [['initiate', '--child', 'net', '--timeout', 'soon'], "invalid --timeout 'soon': expected a number >= 0"],
    [['initiate', '--child', 'net', '--timeout=-1'], "invalid --timeout '-1'"],
    [['initiate', '--child', 'net', '--rate', '5'], '--rate goes with --count N'],
    [['ping', '--child', 'net', '--dst', '10.0.0.1', '--count', 'x'], "invalid --count 'x'"],
    [['ping', '--child', 'net', '--dst', '10.0.0.1', '--size', '70000'], "invalid --size '70000'"],
    [['ping', '--child', 'net', '--dst', '10.0.0.1', '--interval', '0'], "invalid --interval '0'"],
    [['scenario', 'run', 'wrong-psk', '--repeat', '0'], "invalid --repeat '0': expected an integer >= 1 and <= 1000"],
    [['scenario', 'run', 'wrong-psk', '--repeat', '2.5'], "invalid --repeat '2.5'"],
  ])('bad number %j: exit 2 naming the flag', (args, message) => {
    const r = ikelab(...args, '--socket', NO_DAEMON);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('missing required options: exit 2', () => {
    expect(ikelab('initiate', '--socket', NO_DAEMON).stderr).toContain('initiate needs --child NAME or --ike NAME');
    expect(ikelab('initiate', '--socket', NO_DAEMON).code).toBe(2);
    expect(ikelab('start').code).toBe(2);
    expect(ikelab('ping', '--child', 'net', '--socket', NO_DAEMON).code).toBe(2);
  });

  test('--help per verb: its usage line and its flags, exit 0, no daemon asked', () => {
    const flags: Record<string, string[]> = {
      initiate: [
        '--child NAME',
        '--ike NAME',
        '--timeout SECONDS',
        '--quiet',
        '--json',
        '--psk SECRET',
        '--esp-proposals LIST',
        '--count N',
        '--socket PATH',
      ],
      terminate: ['--ike NAME', '--child NAME', '--timeout SECONDS', '--json', '--config FILE'],
      rekey: ['--dh none|GROUP', '--timeout SECONDS'],
      'list-sas': ['--ike NAME', '--child NAME', '--json'],
      'list-conns': ['--json', '--socket PATH'],
      load: ['--apply-to-rekey', '--config FILE'],
      ping: ['--dst ADDR', '--count N', '--json'],
      start: ['--config FILE'],
    };
    for (const [verb, want] of Object.entries(flags)) {
      const r = ikelab(verb, verb === 'rekey' ? '-h' : '--help');
      expect(r.code, verb).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: ikelab ${verb}`));
      for (const f of want) expect(r.stdout, `${verb}: ${f}`).toContain(`  ${f}`);
      expect(r.stdout).toContain('-h, --help');
    }
    // the verbs with their own parsers answer --help too
    for (const verb of ['watch', 'scenario', 'log-compare']) {
      const r = ikelab(verb, '--help');
      expect(r.code, verb).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: ikelab ${verb}`));
    }
  });

  test('ikelab --help, help VERB, --version', () => {
    const h = ikelab('--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: ikelab <verb> \[options\]/);
    for (const verb of ['initiate', 'terminate', 'rekey', 'list-sas', 'list-conns', 'load', 'watch', 'scenario', 'fault'])
      expect(h.stdout).toContain(`  ${verb}`);
    expect(h.stdout).toContain('exit codes: 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon listening');
    expect(ikelab('help', 'rekey').stdout).toMatch(/^usage: ikelab rekey/);
    const v = ikelab('--version');
    expect(v.code).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(v.stdout).toBe(`${pkg.version}\n`);
  });

  test('valid options pass the parser and then find no daemon: exit 3', () => {
    for (const args of [
      ['list-sas', '--json'],
      ['list-conns'],
      ['initiate', '--child', 'net', '--timeout', '5', '--quiet'],
      ['rekey', '--child', 'net', '--dh', 'none'],
      ['terminate', '--ike', 'demo', '--json'],
      ['stats'],
    ]) {
      const r = ikelab(...args, '--socket', NO_DAEMON);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain(`no ikelab daemon is listening on ${NO_DAEMON}`);
    }
  });

  test('a config file that does not load: exit 2', () => {
    const r = ikelab('list-sas', '--config', '/nonexistent/ikelab.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ikelab: /);
  });
});
