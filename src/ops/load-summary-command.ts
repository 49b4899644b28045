// `ikelab load-merge FILE... [--json]`: reads the load run summaries (load-summary.ts says which forms), merges
// them and prints the result. `-` reads stdin (`kubectl logs -l job-name=ikelab-load --tail=-1 | ikelab load-merge -`).
// Exit 0 when every IKE_SA of every run was established with its CHILD_SA (as `initiate --count`), 1 otherwise;
// an unreadable or malformed file is a LoadSummaryError naming it (the CLI's exit 2).
import { readFileSync } from 'node:fs';
import { formatMergedSummary, type LoadSummaryInput, LoadSummaryError, mergeLoadSummaries, parseSummaries } from './load-summary.js';

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LoadSummaryError(`${file === '-' ? 'stdin' : file}: cannot read: ${err.code ?? err.message}`);
  }
}

/** Merges the files' summaries and prints them; the exit code (0 all established, 1 not). */
export function loadMergeCommand(files: readonly string[], json: boolean): number {
  const inputs: LoadSummaryInput[] = files.flatMap((f) => parseSummaries(f === '-' ? 'stdin' : f, readInput(f)));
  const merged = mergeLoadSummaries(inputs);
  console.log(json ? JSON.stringify(merged) : formatMergedSummary(merged));
  return merged.ok ? 0 : 1;
}

export { LoadSummaryError };
