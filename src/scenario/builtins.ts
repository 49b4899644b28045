// The built-in scenarios: YAML files in the package's top-level scenarios/ directory, read at run time (found from
// this module's own location, so `src/` under tsx/vitest and `dist/` after a build both reach it).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/errors.js';
import { loadScenarioFile, type Scenario } from './format.js';

/** <package root>/scenarios: this file is <root>/src/scenario/ or <root>/dist/scenario/. */
export const SCENARIOS_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));

/** Built-in scenario names (file names without .yaml), sorted. */
export function builtinNames(dir = SCENARIOS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

export function builtinPath(name: string, dir = SCENARIOS_DIR): string | undefined {
  for (const ext of ['.yaml', '.yml']) {
    const p = join(dir, `${name}${ext}`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * NAME (a built-in) or FILE (a path: anything with a slash or a .yaml/.yml ending). A name that is neither is a
 * ConfigError listing the built-ins.
 */
export function findScenario(nameOrFile: string, dir = SCENARIOS_DIR): Scenario {
  const isPath = nameOrFile.includes('/') || /\.ya?ml$/.test(nameOrFile);
  const path = isPath ? nameOrFile : builtinPath(nameOrFile, dir);
  if (!path)
    throw new ConfigError({
      file: nameOrFile,
      keyPath: '',
      expected: `a built-in scenario (${builtinNames(dir).join(', ')}) or a scenario file path`,
      got: 'no such scenario',
    });
  return loadScenarioFile(path);
}
