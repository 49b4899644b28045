#!/usr/bin/env node
// ikelab's command line. Verbs mirror swanctl's: start (the daemon, foreground), initiate, terminate,
// list-sas, load; plus demo (two peers on loopback, no root).
import { loadConfig } from './config/load.js';
import { dhChoiceForms, parseDhChoice } from './config/dh-choice.js';
import { ConfigError } from './config/errors.js';
import { controlCall, NoDaemonError } from './control/client.js';
import { formatSasText, type SaJson } from './control/sa-json.js';
import { FAULT_USAGE, faultCommand, FaultUsageError } from './control/fault-cli.js';
import { runDemo } from './demo.js';
import { LOG_COMPARE_USAGE, logCompareCommand } from './log/compare-command.js';
import { runDaemon } from './run-daemon.js';
import { type InitiateOverrideText, OVERRIDE_FLAGS, parseOverrides } from './ops/overrides.js';
import { formatLoadReport, type LoadReport } from './ops/reload.js';
import { SCENARIO_USAGE, scenarioCommand } from './scenario/cli.js';
import { WATCH_USAGE, watchCommand } from './control/watch-cli.js';

const USAGE = `usage: ikelab <verb> [options]
  start --config FILE                 run the daemon in the foreground (charon-style log on stdout)
  demo                                two ikelab peers on 127.0.0.1 / 127.0.0.2 bring a tunnel up and down
  initiate (--child NAME | --ike NAME) [--count N [--rate PER_SEC]] [--config FILE | --socket PATH]
           [--psk SECRET] [--proposals LIST] [--esp-proposals LIST] [--local-ts LIST] [--remote-ts LIST]
                                      --count: N more IKE_SAs of that connection (load test)
                                      overrides for this initiation only (config unchanged; lists comma-separated,
                                      swanctl syntax): --psk/--proposals start a new IKE_SA, the others a new CHILD_SA
  terminate (--ike NAME | --child NAME) [--config FILE | --socket PATH]
  rekey (--ike NAME | --child NAME [--dh none|GROUP]) [--config FILE | --socket PATH]
                                      --dh: the next rekey of that CHILD_SA only: no PFS (none) or only GROUP
  list-sas [--json] [--config FILE | --socket PATH]
  load [--config FILE] [--socket PATH] [--apply-to-rekey]
                                      reload the configuration; prints what changed and what happens to live SAs
                                      --apply-to-rekey: live CHILD_SAs of a changed child take it at their next rekey
  stats [--config FILE | --socket PATH]
  ping --child NAME --dst ADDR [--src ADDR] [--count N] [--size BYTES] [--interval MS]
                                      ICMP echo through the CHILD_SA from ikelab's virtual host
  ipsec-sa [--config FILE | --socket PATH]   IOS-like 'show crypto ipsec sa' counters
${FAULT_USAGE}
${WATCH_USAGE}
${SCENARIO_USAGE}
${LOG_COMPARE_USAGE}`;

type Opts = Record<string, string | boolean>;

function parseArgs(argv: string[]): { verb?: string; opts: Opts; words: string[] } {
  const opts: Opts = {};
  let verb: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const key = a.slice(2);
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--') && !['json', 'help', 'apply-to-rekey'].includes(key)) {
        opts[key] = next;
        i++;
      } else opts[key] = true;
    } else if (!verb) verb = a;
    else words.push(a);
  }
  return { verb, opts, words };
}

class UsageError extends Error {}
/** An invalid --dh value (exit 2). */
class DhUsageError extends UsageError {}
/** An invalid initiate override (--psk, --proposals, ...): exit 2 like --dh. */
class OverrideUsageError extends UsageError {}

/** initiate's overrides from the command line; syntax checked here (the daemon checks what its engine runs). */
function initiateOverrides(verb: string, opts: Opts): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  const text: InitiateOverrideText = {};
  for (const [key, flag] of Object.entries(OVERRIDE_FLAGS) as [keyof InitiateOverrideText, string][]) {
    const v = opts[flag.slice(2)];
    if (v === undefined) continue;
    if (verb !== 'initiate') throw new OverrideUsageError(`${flag} goes with initiate only`);
    if (typeof v !== 'string') throw new OverrideUsageError(`${flag} needs a value`);
    text[key] = v;
    out[flag.slice(2)] = v;
  }
  try {
    parseOverrides(text);
  } catch (e) {
    throw new OverrideUsageError((e as Error).message);
  }
  return out;
}

/** The summary ping(8) prints. */
function formatPing(dst: string, child: string, size: number, r: { sent: number; received: number; rttsMs: number[] }): string {
  const lines = [`PING ${dst} through CHILD_SA ${child}: ${size} data bytes`];
  r.rttsMs.forEach((t, i) => lines.push(`${size + 8} bytes from ${dst}: time=${t.toFixed(3)} ms (reply ${i + 1})`));
  const loss = r.sent ? Math.round((100 * (r.sent - r.received)) / r.sent) : 0;
  lines.push(`--- ${dst} ping statistics ---`, `${r.sent} packets transmitted, ${r.received} received, ${loss}% packet loss`);
  if (r.rttsMs.length) {
    const min = Math.min(...r.rttsMs),
      max = Math.max(...r.rttsMs),
      avg = r.rttsMs.reduce((a, b) => a + b, 0) / r.rttsMs.length;
    lines.push(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`);
  }
  return lines.join('\n');
}

function socketPath(o: Opts): string {
  if (typeof o.socket === 'string') return o.socket;
  if (typeof o.config === 'string') return loadConfig(o.config).daemon.controlSocket;
  throw new UsageError('give --config FILE (its daemon.control_socket is used) or --socket PATH');
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'log-compare') return logCompareCommand(argv.slice(1)); // positional files: its own parsing
  // repeatable options (--set, --event) and their own exit codes: their own parsing too
  if (argv[0] === 'scenario') return scenarioCommand(argv.slice(1));
  if (argv[0] === 'watch') return watchCommand(argv.slice(1));
  const { verb, opts, words } = parseArgs(argv);
  // only `fault` takes words after the verb (fault add NAME, fault impair WHAT ...)
  if (verb !== 'fault' && words.length) throw new UsageError(`unexpected argument '${words[0]}'`);
  const str = (k: string): string | undefined => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  switch (verb) {
    case 'start': {
      const file = str('config');
      if (!file) throw new UsageError('start needs --config FILE');
      const running = await runDaemon(loadConfig(file));
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      await running.stop();
      return 0;
    }
    case 'demo':
      return runDemo();
    case 'initiate':
    case 'rekey':
    case 'terminate': {
      if (!str('child') && !str('ike')) throw new UsageError(`${verb} needs --child NAME or --ike NAME`);
      if (opts.dh !== undefined) {
        if (verb !== 'rekey' || !str('child')) throw new UsageError('--dh goes with rekey --child NAME only');
        if (parseDhChoice(str('dh') ?? '') === undefined)
          throw new DhUsageError(`invalid --dh '${str('dh') ?? ''}': use ${dhChoiceForms()}`);
      }
      const overrides = initiateOverrides(verb, opts);
      const r = await controlCall(socketPath(opts), verb, {
        child: str('child'),
        ike: str('ike'),
        count: str('count'),
        rate: str('rate'),
        dh: str('dh'),
        ...overrides,
      });
      console.log(JSON.stringify(r));
      return 0;
    }
    case 'fault':
      return faultCommand(words, opts, socketPath(opts));
    case 'ping': {
      const dst = str('dst');
      const child = str('child');
      if (!child || !dst) throw new UsageError('ping needs --child NAME and --dst ADDRESS');
      const count = str('count') ?? '3';
      const size = str('size') ?? '56';
      const r = (await controlCall(
        socketPath(opts),
        'ping',
        { child, dst, src: str('src'), count, size, interval: str('interval') },
        120_000,
      )) as { sent: number; received: number; rttsMs: number[] };
      console.log(formatPing(dst, child, Number(size), r));
      return r.received === r.sent ? 0 : 1;
    }
    case 'ipsec-sa':
      console.log(await controlCall(socketPath(opts), 'ipsec-sa'));
      return 0;
    case 'list-sas': {
      const sas = (await controlCall(socketPath(opts), 'list-sas')) as SaJson[];
      console.log(opts.json ? JSON.stringify(sas, null, 2) : formatSasText(sas));
      return 0;
    }
    case 'load': {
      const r = (await controlCall(socketPath(opts), 'load', {
        config: str('config'),
        'apply-to-rekey': opts['apply-to-rekey'] === true || undefined,
      })) as { loaded: string; connections: string[] } & LoadReport;
      if (opts.json) console.log(JSON.stringify(r));
      else console.log(`loaded ${r.loaded}: connections ${r.connections.join(', ') || 'none'}\n${formatLoadReport(r)}`);
      return 0;
    }
    case 'stats':
      console.log(JSON.stringify(await controlCall(socketPath(opts), 'stats'), null, 2));
      return 0;
    case undefined:
    case 'help':
      console.log(USAGE);
      return verb ? 0 : 2;
    default:
      throw new UsageError(`unknown verb '${verb}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof UsageError || e instanceof FaultUsageError) {
      console.error(`ikelab: ${e.message}\n${USAGE}`);
      // a refused --dh value: exit 2 (usage), as log-compare does
      if (e instanceof DhUsageError || e instanceof OverrideUsageError) process.exit(2);
    } else if (e instanceof ConfigError || e instanceof NoDaemonError) console.error(`ikelab: ${e.message}`);
    else console.error(`ikelab: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
