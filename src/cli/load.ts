// Load runs seen from the CLI (a run is started by `initiate --count N`, lifecycle.ts): `load-status` reads one
// from the daemon, which keeps finished runs, and `load-merge` merges the summaries of runs of several processes
// offline (no daemon asked).
import { controlCall } from '../control/client.js';
import { formatProgress, formatSummary, loadOk } from '../control/load-cli.js';
import type { LoadStatus } from '../ops/load-run.js';
import { EXIT, jsonFlag, num, socketFlags, socketPath, UsageError, type Verb } from './verb.js';

export const loadStatusVerb: Verb = {
  name: 'load-status',
  synopsis: '[--id N] [--json]',
  summary:
    "a load run's progress, or its summary once done (initiate --count N starts one; the daemon keeps finished\n" +
    "runs, so an interrupted CLI can read the result later); exit 0 when printed, whatever the run's outcome",
  flags: [
    { name: 'id', type: 'string', arg: 'N', help: 'the run, by the id initiate --count printed (default: the newest)' },
    { name: 'json', type: 'boolean', help: 'the status as one JSON object, {ok, ...} as initiate --count --json prints it' },
    ...socketFlags,
  ],
  run: async (v) => {
    const id = num(v, 'id', { min: 1, int: true });
    const s = (await controlCall(await socketPath(v), 'load-status', {
      id: id === undefined ? undefined : String(id),
    })) as LoadStatus;
    if (v.json) console.log(JSON.stringify({ ok: loadOk(s), ...s }));
    else console.log(s.done ? formatSummary(s) : `load run ${s.id} running: ${formatProgress(s)}`);
    return EXIT.ok;
  },
};

export const loadMergeVerb: Verb = {
  name: 'load-merge',
  synopsis: 'FILE... [--json]',
  summary:
    'merge the summaries of load runs (initiate --count N --json) of several processes: counts, reasons, percentiles,\nrate over the union of their time spans; a FILE may be a log with IKELAB_LOAD_SUMMARY lines, - is stdin;\nexit 1 when not every SA of every run came up',
  flags: [jsonFlag],
  positionals: true,
  run: async (v, files) => {
    if (!files.length) throw new UsageError('load-merge needs at least one FILE (the JSON of initiate --count N --json)');
    // loaded on use, like every offline verb: a control verb does not pay for it
    const m = await import('../ops/load-summary-command.js');
    try {
      return m.loadMergeCommand(files, v.json === true);
    } catch (e) {
      // a malformed summary is bad input, like a bad config: exit 2 naming the file, without the usage text
      if (!(e instanceof m.LoadSummaryError)) throw e;
      console.error(`ikelab: ${e.message}`);
      return EXIT.usage;
    }
  },
};
