// `ikelab log-compare REFERENCE OURS [--show] [--payloads] [--json]`: how much of a reference charon log
// reappears, in order, in another log (src/log/compare.ts). Exit status: 0 when every reference line found its
// partner, 1 otherwise (also when the reference has no comparable line), 2 on a usage error or unreadable file.
import { readFileSync } from 'node:fs';
import { compareLogs, formatPercent, formatReport } from './compare.js';

export const LOG_COMPARE_USAGE = `  log-compare REFERENCE OURS [--show] [--payloads] [--json]
                                      how much of a reference charon log reappears, in order, in OURS;
                                      --show lists the reference lines without partner, --payloads compares
                                      payload lists with their notifies; exit 0 only if every line is there`;

/** The options, for the parser below and `ikelab log-compare --help` (src/cli/help.ts renders it like every verb's). */
export const LOG_COMPARE_FLAGS = [
  { name: 'show', type: 'boolean', help: 'list the reference lines that found no partner' },
  { name: 'payloads', type: 'boolean', help: 'also compare the payload lists, notifies included' },
  { name: 'json', type: 'boolean', help: 'the report as JSON: matched, total, score, percent, complete, missing lines' },
] as const;

export const LOG_COMPARE_HELP = {
  name: 'log-compare',
  synopsis: 'REFERENCE OURS [--show] [--payloads] [--json]',
  summary: 'how much of a reference charon log (REFERENCE) reappears, in order, in another log (OURS)',
  exits: 'exit codes: 0 every reference line found its partner, 1 some did not (or none to compare), 2 usage error or unreadable file',
  flags: LOG_COMPARE_FLAGS,
};

type Flag = (typeof LOG_COMPARE_FLAGS)[number]['name'];
const FLAGS: readonly string[] = LOG_COMPARE_FLAGS.map((f) => f.name);

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Runs the verb with the arguments after `log-compare`; returns the exit status. */
export function logCompareCommand(args: readonly string[], io: Io = stdio): number {
  const files: string[] = [];
  const flags = new Set<Flag>();
  for (const a of args) {
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (name === 'help') {
        io.out(`usage: ikelab <verb> [options]\n${LOG_COMPARE_USAGE}\n`);
        return 0;
      }
      if (!FLAGS.includes(name)) return usage(io, `unknown option '${a}'`);
      flags.add(name as Flag);
    } else files.push(a);
  }
  if (files.length !== 2) return usage(io, `log-compare needs two files, REFERENCE and OURS (got ${files.length})`);
  const texts: string[] = [];
  for (const f of files) {
    try {
      texts.push(readFileSync(f).toString('utf8'));
    } catch (e) {
      io.err(`ikelab: log-compare: cannot read ${f}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const r = compareLogs(texts[0]!, texts[1]!, { payloads: flags.has('payloads') });
  if (flags.has('json')) {
    const report = {
      reference: files[0],
      ours: files[1],
      payloads: flags.has('payloads'),
      matched: r.matched,
      total: r.total,
      score: r.score,
      percent: Number(formatPercent(r.matched, r.total)),
      complete: r.complete,
      missing: r.missing.map((l) => ({ line: l.line, shape: l.shape, original: l.original })),
    };
    io.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.out(formatReport(r, { show: flags.has('show') }));
  }
  if (r.total === 0) io.err(`ikelab: log-compare: ${files[0]} has no charon line to compare (IKE, ENC, NET, CFG, CHD)\n`);
  return r.complete ? 0 : 1;
}

function usage(io: Io, message: string): number {
  io.err(`ikelab: ${message}\nusage: ikelab log-compare REFERENCE OURS [--show] [--payloads] [--json]\n`);
  return 2;
}
