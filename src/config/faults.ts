// The config file's top-level `faults:` key: fault rules written in the fault engine's own YAML form and read by
// its own parser (src/faults/yaml.ts), so the file and `ikelab fault add` never drift apart. Its errors carry the
// key path below `faults` (`faults[0].match.exchange`); here they become this loader's issues, so they are reported
// like every other key: file, key path, what was expected, line.
//
// The one place src/config reaches into src/faults (allowed by .dependency-cruiser.cjs for this file only).
import { z } from 'zod';
import { FaultSyntaxError } from '../faults/errors.js';
import type { FaultRuleSpec } from '../faults/model.js';
import { parseFaultsYaml } from '../faults/yaml.js';

export type { FaultRuleSpec } from '../faults/model.js';

/** `[0].match.exchange` -> [0, 'match', 'exchange'] (the fault parser's key path below `faults`). */
export function faultKeyPath(keyPath: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of keyPath.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) out.push(m[1] !== undefined ? Number(m[1]) : m[2]!);
  return out;
}

/** The schema field: null/absent is no rules. */
export const faultsField = z
  .unknown()
  .optional()
  .transform((v, ctx): FaultRuleSpec[] => {
    try {
      return parseFaultsYaml(v, '');
    } catch (e) {
      if (!(e instanceof FaultSyntaxError)) throw e;
      const info = { expected: e.expected, ...(e.got !== undefined ? { got: e.got } : {}), ...(e.detail ? { detail: e.detail } : {}) };
      ctx.addIssue({ code: 'custom', message: JSON.stringify(info), path: faultKeyPath(e.keyPath), params: info });
      return z.NEVER;
    }
  });
