// `fault` (add|list|clear|impair, or --mode): the sub-verbs' parsing and printing are src/control/fault-cli.ts's;
// this is its option table (for strict parsing and --help) and the hand-over of the words and values.
import { FAULT_USAGE, faultCommand } from '../control/fault-cli.js';
import { socketFlags, socketPath, type Verb } from './verb.js';

export const faultVerb: Verb = {
  name: 'fault',
  synopsis: 'add|list|clear|impair ... | --mode silent|delay|normal',
  summary: 'fault rules in the running daemon',
  more: FAULT_USAGE,
  positionals: true,
  flags: [
    { name: 'match', type: 'string', arg: 'CRITERIA', help: 'fault add: which messages' },
    { name: 'action', type: 'string', arg: 'ACTION', help: 'fault add: what to do with them' },
    { name: 'count', type: 'string', arg: 'N', help: 'fault add: how often' },
    { name: 'name', type: 'string', arg: 'NAME', help: 'fault add: the rule name' },
    { name: 'mode', type: 'string', arg: 'MODE', help: 'silent | delay | normal' },
    { name: 'ms', type: 'string', arg: 'N', help: 'with --mode delay: hold inbound messages N ms' },
    { name: 'ike', type: 'string', arg: 'NAME', help: 'with --mode: only this connection' },
    { name: 'json', type: 'boolean', help: 'the result as JSON (fault list: the rules; add, impair: the rules added; clear: the names)' },
    ...socketFlags,
  ],
  run: async (v, words) => {
    const opts: Record<string, string | boolean> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) opts[k] = x;
    return faultCommand(words, opts, await socketPath(v));
  },
};
