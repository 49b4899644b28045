// The help texts, rendered from the same tables the parsers use (table.ts, the own parsers' tables), so an option
// cannot exist without its help line: the overview (`ikelab`, `ikelab --help`), one verb's (`ikelab VERB --help`),
// and helpEntries(), what test/cli/help.test.ts and json-verbs.test.ts walk.
import type { VerbHelp } from '../control/cli-options.js';
import { FAULT_USAGE } from '../control/fault-cli.js';
import { WATCH_USAGE } from '../control/watch-cli.js';
import { OWN_PARSERS } from './own-parsers.js';
import { VERBS } from './table.js';
import { DEFAULT_SOCKET } from './verb.js';

/** Every verb's help entry, the own parsers' sub-verbs included: what `--help` prints and the tests walk. */
export async function helpEntries(): Promise<{ entry: VerbHelp; takesWords: boolean }[]> {
  const own = await Promise.all(Object.values(OWN_PARSERS).map((load) => load()));
  return [
    ...VERBS.map((v) => ({ entry: v as VerbHelp, takesWords: v.positionals === true })),
    ...own.flatMap((o) => o.help.map((entry) => ({ entry, takesWords: true }))),
  ];
}

export const usageLine = (v: VerbHelp): string => `ikelab ${v.name}${v.synopsis ? ` ${v.synopsis}` : ''}`;

/** `ikelab` alone, `ikelab --help`, and a usage error outside any verb: every verb's usage and summary. */
export const overview = async (): Promise<string> => `usage: ikelab <verb> [options]        (ikelab <verb> --help: that verb's options)
${VERBS.filter((v) => v.name !== 'fault')
  .map((v) => `  ${usageLine(v).slice('ikelab '.length)}\n      ${v.summary.split('\n').join('\n      ')}`)
  .join('\n')}
${FAULT_USAGE}
${WATCH_USAGE}
${(await OWN_PARSERS.scenario!()).usage}
${(await OWN_PARSERS['log-compare']!()).usage}
${(await OWN_PARSERS.convert!()).usage}
  --help, -h | --version
common options: --socket PATH (default ${DEFAULT_SOCKET}) or --config FILE (its daemon.control_socket)
exit codes: 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon listening`;

/** `ikelab VERB --help`: the usage line, what it does, every flag (a repeatable one marked). */
export function verbHelp(v: VerbHelp): string {
  const rows = [
    ...v.flags.map((f) => [`--${f.name}${f.arg ? ` ${f.arg}` : ''}${f.multiple ? ' ...' : ''}`, f.help]),
    ['-h, --help', 'this text'],
  ];
  const width = Math.max(...rows.map(([a]) => a!.length));
  return [
    `usage: ${usageLine(v)}`,
    ...v.summary.split('\n').map((l) => `  ${l}`),
    ...(v.more ? [v.more] : []),
    'options:',
    ...rows.map(([a, h]) => `  ${a!.padEnd(width)}  ${h}`),
    v.exits ?? 'exit codes: 0 success, 1 the operation failed, 2 usage or config error, 3 no daemon listening',
  ].join('\n');
}

/** The help for `ikelab WORDS... --help`: a verb's, or an own-parser verb's (one sub-verb's when named: scenario run). */
export async function helpFor(words: string[]): Promise<string | undefined> {
  const [name, sub] = words;
  const verb = VERBS.find((x) => x.name === name);
  if (verb) return verbHelp(verb);
  const load = name !== undefined ? OWN_PARSERS[name] : undefined;
  if (!load) return undefined;
  const { help } = await load();
  const one = help.find((h) => h.name === `${name} ${sub}`);
  return (one ? [one] : help).map(verbHelp).join('\n\n');
}
