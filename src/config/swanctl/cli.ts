// `ikelab convert SWANCTL.CONF [--strongswan-conf FILE]`: prints the ikelab YAML on stdout and what was left out
// on stderr (the same list heads the YAML as comments). Its own parser, like scenario and watch: one positional
// file and one option, nothing shared with the daemon verbs.
//
// Exit codes as the rest of the CLI: 0 converted, 2 usage error, unreadable or malformed input, or a result that
// ikelab's loader refuses (its message names the swanctl key and line).

import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { ConvertError, convertSwanctl, formatAdded, formatIgnored } from './convert.js';
import { parseSettingsFile, SettingsSyntaxError } from './parse.js';

export const CONVERT_USAGE = `  convert SWANCTL.CONF [--strongswan-conf FILE] [--quiet]
                                      swanctl.conf (and strongswan.conf's charon settings) as ikelab YAML on
                                      stdout; keys ikelab lacks are listed on stderr and atop the YAML;
                                      exit 0 converted, 2 bad input or a result ikelab's loader refuses`;

/** The options, for the parser below and `ikelab convert --help` (src/cli/help.ts renders it like every verb's). */
export const CONVERT_FLAGS = [
  {
    name: 'strongswan-conf',
    type: 'string',
    arg: 'FILE',
    help: "also take charon's retransmit_*, fragment_size, cookie/DoS thresholds, port, port_nat_t, keep_alive and the first filelog's levels into daemon:",
  },
  { name: 'quiet', type: 'boolean', help: "do not repeat the ignored keys on stderr (they stay in the YAML's comments)" },
] as const;

export const CONVERT_HELP = {
  name: 'convert',
  synopsis: 'SWANCTL.CONF [--strongswan-conf FILE] [--quiet]',
  summary: [
    "Converts a swanctl.conf (includes, section references and comments resolved) into ikelab's YAML on stdout,",
    'e.g. ikelab convert /etc/swanctl/swanctl.conf --strongswan-conf /etc/strongswan.conf > ikelab.yaml',
    'Keys ikelab has are copied under the same names; every key it does not have is listed as',
    '"ignored: PATH (line N): why" on stderr and as comments at the top of the output. The result is checked',
    "with ikelab's own config loader before it is printed.",
  ].join('\n'),
  exits: 'exit codes: 0 converted, 2 usage error, unreadable or malformed input, or a result ikelab cannot load',
  flags: CONVERT_FLAGS,
  noJson: 'prints the converted config (YAML) itself',
};

export function convertCommand(argv: string[]): number {
  // `ikelab convert --help` is answered by cli.ts from CONVERT_HELP before this runs
  let parsed: { values: { 'strongswan-conf'?: string; quiet?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(CONVERT_FLAGS.map((f) => [f.name, { type: f.type }])),
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    return usage(
      positionals.length ? `convert takes one swanctl.conf, got ${positionals.length} files` : 'convert needs a swanctl.conf file',
    );
  const swanctlFile = positionals[0]!;
  const strongswanFile = values['strongswan-conf'];
  try {
    const swanctl = parseSettingsFile(swanctlFile);
    const strongswan = strongswanFile !== undefined ? parseSettingsFile(strongswanFile) : undefined;
    const input = { swanctl, swanctlFile, strongswan, strongswanFile };
    const r = convertSwanctl(input);
    process.stdout.write(r.yaml);
    if (!values.quiet) {
      for (const i of r.ignored) console.error(`ikelab convert: ${formatIgnored(i, input)}`);
      for (const a of r.added) console.error(`ikelab convert: ${formatAdded(a)}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof SettingsSyntaxError || e instanceof ConfigError || e instanceof ConvertError) {
      console.error(`ikelab convert: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

function usage(msg: string): number {
  console.error(`ikelab convert: ${msg}\nusage: ikelab convert ${CONVERT_HELP.synopsis}  (ikelab convert --help)`);
  return 2;
}
