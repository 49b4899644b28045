// startPeer's config argument -> a loaded config, through the same loader as `ikelab start --config`, so a test's
// config is refused with the same messages (key path, what was expected) as a file would be.
import { stringify } from 'yaml';
import { ConfigError } from '../config/errors.js';
import { loadConfig, parseConfig } from '../config/load.js';
import type { IkelabConfig } from '../config/types.js';
import type { ConfigInput } from './types.js';

/** A path never holds a line break, and `{` opens YAML flow text: anything else is a path. */
const isYamlText = (s: string): boolean => s.includes('\n') || s.trimStart().startsWith('{');

export function resolveConfig(input: ConfigInput, name?: string): IkelabConfig {
  if (typeof input === 'string') return isYamlText(input) ? parseConfig(input, name ?? '<config text>') : loadConfig(input);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError('startPeer: config must be a file path, YAML text, or an object in the YAML shape');
  }
  const file = name ?? '<config object>';
  try {
    return parseConfig(stringify(input), file);
  } catch (e) {
    // the lines are those of YAML made from the object, which the caller never saw: only the key path is useful
    if (e instanceof ConfigError) throw new ConfigError({ ...e, file, line: undefined, column: undefined });
    throw e;
  }
}
