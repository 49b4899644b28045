// SA and config lifecycle, as src/control/commands/lifecycle.ts on the daemon's side: `initiate` (one SA, or a load
// run with --count), `terminate`, `rekey` (one SA, or a storm with --all), `dpd --all` (the other storm) and `load`
// (reload the configuration). The flags are checked here, before any daemon is asked: a script's typo is exit 2.
import { dhChoiceForms, parseDhChoice } from '../config/dh-choice.js';
import { controlCall } from '../control/client.js';
import { LOAD_FLAGS, loadRunCommand } from '../control/load-cli.js';
import { REKEY_STORM_FLAGS, stormCommand } from '../control/storm-cli.js';
import { type InitiateOverrideText, OVERRIDE_FLAGS, parseOverrides } from '../ops/overrides.js';
import { formatLoadReport, type LoadReport } from '../ops/reload.js';
import { targetFlags, waitFlags, waitFor } from './outcome.js';
import { DEFAULT_SOCKET, EXIT, jsonFlag, num, socketFlags, socketPath, str, UsageError, type Values, type Verb } from './verb.js';

/** initiate's overrides from the command line; syntax checked here (the daemon checks what its engine runs). */
function initiateOverrides(v: Values): Record<string, string> {
  const out: Record<string, string> = {};
  const text: InitiateOverrideText = {};
  for (const [key, flag] of Object.entries(OVERRIDE_FLAGS) as [keyof InitiateOverrideText, string][]) {
    const value = str(v, flag.slice(2));
    if (value === undefined) continue;
    text[key] = value;
    out[flag.slice(2)] = value;
  }
  try {
    parseOverrides(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return out;
}

export const initiateVerb: Verb = {
  name: 'initiate',
  synopsis:
    '(--child NAME | --ike NAME) [--timeout SECONDS] [--quiet | --loglevel N | --events] [--json] [overrides] [--count N [--rate PER_SEC]]',
  summary:
    'bring a CHILD_SA (its IKE_SA first if none is up) or an IKE_SA up and wait for the result, like swanctl --initiate:\n' +
    'exit 0 once established, 1 with the notify the peer refused with (AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN,\n' +
    "TS_UNACCEPTABLE, ...) or 'peer not responding'. A CHILD_SA already installed is success at once.",
  flags: [
    ...targetFlags('initiate'),
    ...waitFlags,
    { name: 'psk', type: 'string', arg: 'SECRET', help: 'override: the PSK of a new IKE_SA (this initiation only)' },
    { name: 'proposals', type: 'string', arg: 'LIST', help: 'override: IKE proposals of a new IKE_SA (comma-separated, swanctl syntax)' },
    { name: 'esp-proposals', type: 'string', arg: 'LIST', help: 'override: ESP proposals of a new CHILD_SA' },
    { name: 'local-ts', type: 'string', arg: 'LIST', help: 'override: local traffic selectors of a new CHILD_SA' },
    { name: 'remote-ts', type: 'string', arg: 'LIST', help: 'override: remote traffic selectors of a new CHILD_SA' },
    { name: 'count', type: 'string', arg: 'N', help: 'load test: N more IKE_SAs of that connection, progress and summary (1..100000)' },
    { name: 'rate', type: 'string', arg: 'PER_SEC', help: 'with --count: initiations per second (default: all at once)' },
    ...LOAD_FLAGS,
    ...socketFlags,
  ],
  run: async (v) => {
    if (!str(v, 'child') && !str(v, 'ike')) throw new UsageError('initiate needs --child NAME or --ike NAME');
    const overrides = initiateOverrides(v);
    const count = num(v, 'count', { min: 1, max: 100_000, int: true });
    const rate = num(v, 'rate', { min: 0 });
    if (rate !== undefined && count === undefined) throw new UsageError('--rate goes with --count N');
    for (const f of LOAD_FLAGS) if (v[f.name] !== undefined && count === undefined) throw new UsageError(`--${f.name} goes with --count N`);
    const args = { child: str(v, 'child'), ike: str(v, 'ike'), ...overrides };
    if (count !== undefined) {
      for (const f of ['loglevel', 'events'])
        if (v[f] !== undefined) throw new UsageError(`--${f} streams the wait for one SA, not a load run (--count)`);
      // a load run: progress while it goes, the summary at the end (control/load-cli.ts)
      return loadRunCommand(await socketPath(v), v, args);
    }
    return waitFor('initiate', v, args);
  },
};

export const terminateVerb: Verb = {
  name: 'terminate',
  synopsis: '(--ike NAME | --child NAME) [--timeout SECONDS] [--quiet | --loglevel N | --events] [--json]',
  summary: 'delete an IKE_SA (with its CHILD_SAs) or a CHILD_SA and wait until it is gone, like swanctl --terminate',
  flags: [...targetFlags('terminate'), ...waitFlags, ...socketFlags],
  run: async (v) => {
    if (!str(v, 'child') && !str(v, 'ike')) throw new UsageError('terminate needs --ike NAME or --child NAME');
    return waitFor('terminate', v, { child: str(v, 'child'), ike: str(v, 'ike') });
  },
};

export const rekeyVerb: Verb = {
  name: 'rekey',
  synopsis:
    '(--ike NAME | --child NAME [--dh none|GROUP]) [--timeout SECONDS] [--quiet | --loglevel N | --events] [--json]\n' +
    '       | --all [--ike-only | --child-only] [--rate PER_SEC] [--timeout SECONDS] [--quiet] [--json]',
  summary:
    'rekey an IKE_SA or CHILD_SA and wait until it was replaced (exit 1 with the notify of a refused rekey);\n' +
    '--all: a rekey storm over every established IKE_SA, paced, then attempted, rekeyed, failed by reason, rate, p50/p99',
  flags: [
    ...targetFlags('rekey'),
    { name: 'dh', type: 'string', arg: 'none|GROUP', help: 'the next rekey of that CHILD_SA only: no PFS (none) or only GROUP' },
    ...waitFlags,
    ...REKEY_STORM_FLAGS,
    ...socketFlags,
  ],
  run: async (v) => {
    if (v.all) {
      for (const k of ['ike', 'child', 'dh', 'loglevel', 'events', 'no-wait'])
        if (v[k] !== undefined) throw new UsageError(`--${k} does not go with --all (a storm over every established IKE_SA)`);
      return stormCommand(await socketPath(v), 'rekey', v);
    }
    for (const f of REKEY_STORM_FLAGS) if (v[f.name] !== undefined) throw new UsageError(`--${f.name} goes with --all`);
    if (!str(v, 'child') && !str(v, 'ike')) throw new UsageError('rekey needs --child NAME, --ike NAME or --all');
    const dh = str(v, 'dh');
    if (dh !== undefined) {
      if (!str(v, 'child') || str(v, 'ike')) throw new UsageError('--dh goes with rekey --child NAME only');
      if (parseDhChoice(dh) === undefined) throw new UsageError(`invalid --dh '${dh}': use ${dhChoiceForms()}`);
    }
    return waitFor('rekey', v, { child: str(v, 'child'), ike: str(v, 'ike'), dh });
  },
};

export const dpdVerb: Verb = {
  name: 'dpd',
  synopsis: '--all | --ike NAME [--rate PER_SEC] [--timeout SECONDS] [--quiet] [--json]',
  summary:
    'a liveness check (empty INFORMATIONAL) now: on one IKE_SA (--ike) or, paced, on every established one (--all); answered, not answered, p50/p99 RTT',
  flags: [
    { name: 'all', type: 'boolean', help: 'every established IKE_SA' },
    { name: 'ike', type: 'string', arg: 'NAME', help: 'only the IKE_SAs of this connection, or the one with this unique id' },
    { name: 'rate', type: 'string', arg: 'PER_SEC', help: 'DPDs sent per second (default: all at once)' },
    {
      name: 'timeout',
      type: 'string',
      arg: 'SECONDS',
      help: 'count what has no answer by then as failed (default: pacing + retransmits + 5 s)',
    },
    { name: 'quiet', type: 'boolean', help: 'no progress line' },
    jsonFlag,
    ...socketFlags,
  ],
  run: async (v) => {
    if (!v.all === (typeof v.ike !== 'string')) throw new UsageError('dpd needs --all or --ike NAME (one of them)');
    return stormCommand(await socketPath(v), 'dpd', v);
  },
};

export const loadVerb: Verb = {
  name: 'load',
  synopsis: '[--config FILE] [--apply-to-rekey] [--json]',
  summary: 'reload the configuration; prints what changed and what happens to live SAs',
  flags: [
    { name: 'config', type: 'string', arg: 'FILE', help: "the file to load (default: the daemon's own); its control_socket is used" },
    { name: 'socket', type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET})` },
    { name: 'apply-to-rekey', type: 'boolean', help: 'live CHILD_SAs of a changed child take it at their next rekey' },
    jsonFlag,
  ],
  run: async (v) => {
    const r = (await controlCall(await socketPath(v), 'load', {
      config: str(v, 'config'),
      'apply-to-rekey': v['apply-to-rekey'] === true || undefined,
    })) as { loaded: string; connections: string[] } & LoadReport;
    if (v.json) console.log(JSON.stringify(r));
    else console.log(`loaded ${r.loaded}: connections ${r.connections.join(', ') || 'none'}\n${formatLoadReport(r)}`);
    return EXIT.ok;
  },
};
