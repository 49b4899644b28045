// `ikelab VERB --help` is complete for every verb, the own-parser ones (watch, scenario list|show|run, log-compare,
// convert) and fault's sub-verbs included: the synopsis, every option with its help text, exit 0, no daemon asked.
// The expected options come from the CLI's own tables (helpEntries: the same tables its parsers are built from),
// so an option added without help, or not shown, fails here.
import { spawnSync } from 'node:child_process';
import { describe, expect, test, vi } from 'vitest';
import { helpEntries, verbHelp } from '../../src/cli/help.js';
import { CLI } from './daemons.js';

// ~25 node processes
vi.setConfig({ testTimeout: 120_000 });

const ikelab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('--help for every verb, from the option tables', () => {
  test('every option of every table has a help text, and no name twice', async () => {
    for (const { entry } of await helpEntries()) {
      expect(entry.summary.trim(), `${entry.name}: summary`).not.toBe('');
      const names = entry.flags.map((f) => f.name);
      expect(new Set(names).size, `${entry.name}: an option twice in ${names.join(', ')}`).toBe(names.length);
      for (const f of entry.flags) {
        expect(f.help.trim().length, `${entry.name} --${f.name} has no help text`).toBeGreaterThan(8);
        if (f.type === 'string') expect(f.arg, `${entry.name} --${f.name}: its value's placeholder`).toMatch(/\S/);
      }
    }
  });

  test('ikelab VERB --help prints the synopsis and each option with its help; exit 0', async () => {
    const entries = await helpEntries();
    for (const { entry } of entries) {
      const words = entry.name.split(' ');
      const r = ikelab(...words, '--help');
      expect(r.code, `${entry.name}: ${r.stderr}`).toBe(0);
      expect(r.stderr, entry.name).toBe('');
      const out = r.stdout;
      const usage = `usage: ikelab ${entry.name}${entry.synopsis ? ` ${entry.synopsis}` : ''}\n`;
      expect(out.slice(0, usage.length), entry.name).toBe(usage);
      for (const f of entry.flags) {
        const head = `--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
        expect(out, `${entry.name}: ${head}`).toMatch(new RegExp(`^  ${reEscape(head)}( \\.\\.\\.)? +${reEscape(f.help)}$`, 'm'));
      }
      expect(out).toMatch(/^ {2}-h, --help +this text$/m);
      expect(out).toMatch(/^exit codes: 0 /m);
      // a sub-verb's own help is that sub-verb's only (scenario run), the verb's shows all of them
      if (words.length > 1) expect(out, entry.name).toBe(`${verbHelp(entry)}\n`);
    }
    const scenario = ikelab('scenario', '--help').stdout;
    for (const sub of entries.filter((e) => e.entry.name.startsWith('scenario ')))
      expect(scenario).toContain(`usage: ikelab ${sub.entry.name}`);
  });

  test('-h, help VERB and --help after other words answer the same', () => {
    const want = ikelab('log-compare', '--help').stdout;
    expect(want).toMatch(/^usage: ikelab log-compare REFERENCE OURS/);
    expect(ikelab('log-compare', '-h').stdout).toBe(want);
    expect(ikelab('help', 'log-compare').stdout).toBe(want);
    expect(ikelab('log-compare', 'a.log', 'b.log', '--help').stdout).toBe(want);
    const run = ikelab('scenario', 'run', '--help');
    expect(run.stdout).toMatch(/^usage: ikelab scenario run NAME\|FILE/);
    expect(ikelab('help', 'scenario', 'run').stdout).toBe(run.stdout);
    // fault's sub-verbs are in fault's help, with every option
    const fault = ikelab('fault', 'add', '--help');
    expect(fault.code).toBe(0);
    expect(fault.stdout).toContain('fault add [NAME] --match CRITERIA --action ACTION [--count N]');
    expect(fault.stdout).toContain('fault impair WHAT[:HOW] ...');
  });

  test('the overview names every verb', async () => {
    const r = ikelab('--help');
    expect(r.code).toBe(0);
    for (const { entry } of await helpEntries()) expect(r.stdout, entry.name).toContain(`  ${entry.name}`);
  });
});
