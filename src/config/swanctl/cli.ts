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

const HELP = `usage: ikelab convert SWANCTL.CONF [--strongswan-conf FILE] [--quiet]
  Converts a swanctl.conf (includes, section references and comments resolved) into ikelab's YAML on stdout,
  e.g. ikelab convert /etc/swanctl/swanctl.conf --strongswan-conf /etc/strongswan.conf > ikelab.yaml
  Keys ikelab has are copied under the same names; every key it does not have is listed as
  "ignored: PATH (line N): why" on stderr and as comments at the top of the output. The result is checked
  with ikelab's own config loader before it is printed.
options:
  --strongswan-conf FILE  also take charon's retransmit_*, fragment_size, cookie/DoS thresholds, port,
                          port_nat_t, keep_alive and the first filelog's levels into daemon:
  --quiet                 do not repeat the ignored keys on stderr (they stay in the YAML's comments)
  -h, --help              this text
exit codes: 0 converted, 2 usage error, unreadable or malformed input, or a result ikelab cannot load`;

export function convertCommand(argv: string[]): number {
  let parsed: { values: { 'strongswan-conf'?: string; quiet?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { 'strongswan-conf': { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
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
  console.error(`ikelab convert: ${msg}\n${HELP.split('\n')[0]}  (ikelab convert --help)`);
  return 2;
}
