// The verbs with their own parsers (repeatable options, positional files, sub-verbs): watch, scenario, log-compare,
// convert. Each lives with what it drives and is loaded on use (watch's is small and already loaded), so a control
// verb does not load the scenario runner, the log comparer or the swanctl converter.
import type { VerbHelp } from '../control/cli-options.js';
import { WATCH_HELP, WATCH_USAGE, watchCommand } from '../control/watch-cli.js';

export interface OwnParser {
  /** Its lines in the overview. */
  usage: string;
  /** Its --help: one entry, or one per sub-verb (scenario list|show|run), from the tables its parser uses. */
  help: readonly VerbHelp[];
  run(argv: string[]): number | Promise<number>;
}

/** Verbs with their own parsers, loaded on use: their usage texts, help entries and entry points. */
export const OWN_PARSERS: Record<string, () => Promise<OwnParser>> = {
  watch: async () => ({ usage: WATCH_USAGE, help: [WATCH_HELP], run: watchCommand }),
  scenario: async () => {
    const m = await import('../scenario/cli.js');
    return { usage: m.SCENARIO_USAGE, help: m.SCENARIO_HELP, run: m.scenarioCommand };
  },
  'log-compare': async () => {
    const m = await import('../log/compare-command.js');
    return { usage: m.LOG_COMPARE_USAGE, help: [m.LOG_COMPARE_HELP], run: m.logCompareCommand };
  },
  convert: async () => {
    const m = await import('../config/swanctl/cli.js');
    return { usage: m.CONVERT_USAGE, help: [m.CONVERT_HELP], run: m.convertCommand };
  },
};
