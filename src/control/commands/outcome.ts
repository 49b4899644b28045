// The waiting verbs `initiate-wait`, `terminate-wait`, `rekey-wait` (what `ikelab initiate|terminate|rekey` send):
// the operation, then the log lines of the IKE_SA / CHILD_SA it concerns streamed as they are logged (args.stream
// 'log', up to args.loglevel; or 'events': the structured events; or 'none'), then its Outcome
// (src/ops/outcome.ts) as the last reply. They are streams rather than one request, one reply, so the user sees
// the exchange go by while waiting, as swanctl --initiate prints charon's log of that IKE_SA. A client that goes
// away stops the waiting and its subscriptions, not the operation (swanctl detaches the same way).
import { dhChoiceForms, parseDhChoice } from '../../config/dh-choice.js';
import { OpError } from '../../ops/context.js';
import type { LogRecord } from '../../log/logger.js';
import type { WaitOptions } from '../../ops/outcome.js';
import { parseOverrides } from '../../ops/overrides.js';
import { type ControlArgs, argStr as str } from './command.js';
import type { StreamedLogLine, StreamItem } from '../protocol.js';
import { overrideText } from './lifecycle.js';
import type { StreamCommand } from './watch.js';

const STREAMS = ['log', 'events', 'none'] as const;

/** args.loglevel: charon's levels -1 (nothing) .. 4, one for every group like swanctl's --loglevel; default 1. */
function logLevel(a: ControlArgs): number {
  const t = str(a, 'loglevel');
  if (t === undefined) return 1;
  const n = Number(t);
  if (t.trim() === '' || !Number.isInteger(n) || n < -1 || n > 4) throw new OpError(`--loglevel needs a level -1..4, got '${t}'`);
  return n;
}

/** The record's parts the charon sink prints (charon-sink.ts formatCharonLine), as plain JSON. */
export function streamedLine(r: LogRecord): StreamedLogLine {
  return {
    time: r.time.toISOString(),
    group: r.group,
    level: r.level,
    thread: r.thread,
    ...(r.ctx?.ikeName !== undefined ? { ike: r.ctx.ikeName } : {}),
    ...(r.ctx?.ikeId !== undefined ? { ikeId: r.ctx.ikeId } : {}),
    message: r.message,
  };
}

/** What the wait streams to `emit`, from args.stream and args.loglevel (checked before the operation starts). */
function streamOptions(a: ControlArgs, emit: (item: StreamItem) => void): Pick<WaitOptions, 'onEvent' | 'onLine' | 'lineLevels'> {
  const stream = str(a, 'stream') ?? 'log';
  if (!(STREAMS as readonly string[]).includes(stream)) throw new OpError(`stream must be one of ${STREAMS.join(', ')}, got '${stream}'`);
  const level = logLevel(a);
  if (stream === 'events') return { onEvent: (event) => emit({ event }) };
  if (stream === 'none' || level < 0) return {};
  return { onLine: (r) => emit({ log: streamedLine(r) }), lineLevels: { default: level } };
}

/** args.timeout: seconds (0: no limit); absent: the ops' default (outcome.ts defaultTimeoutMs). */
function timeoutMs(a: ControlArgs): number | undefined {
  const t = str(a, 'timeout');
  if (t === undefined) return undefined;
  const s = Number(t);
  if (t.trim() === '' || !Number.isFinite(s) || s < 0) throw new OpError(`--timeout needs seconds (0: no limit), got '${t}'`);
  return s * 1000;
}

type Start = (ctx: Parameters<StreamCommand['open']>[0], a: ControlArgs, o: WaitOptions) => Promise<unknown>;

function waiting(name: string, start: Start): StreamCommand {
  return {
    name,
    open(ctx, a, emit) {
      const abort = new AbortController();
      const ms = timeoutMs(a);
      const done = start(ctx, a, { timeoutMs: ms, ...streamOptions(a, emit), signal: abort.signal });
      // a refused request (unknown name, bad override) rejects at once: its error is the last reply
      return {
        result: { waiting: name.replace(/-wait$/, ''), ...(ms === undefined ? {} : { timeoutMs: ms }) },
        close: () => abort.abort(),
        done,
      };
    },
  };
}

export const outcomeCommands: readonly StreamCommand[] = [
  waiting('initiate-wait', ({ daemon }, a, o) => {
    let overrides: ReturnType<typeof parseOverrides>;
    try {
      overrides = parseOverrides(overrideText(a), daemon.config.daemon.ipsecBackend);
    } catch (e) {
      return Promise.reject(e);
    }
    return daemon.initiateAndWait({ ike: str(a, 'ike'), child: str(a, 'child'), overrides }, o);
  }),
  waiting('terminate-wait', ({ daemon }, a, o) => daemon.terminateAndWait({ ike: str(a, 'ike'), child: str(a, 'child') }, o)),
  waiting('rekey-wait', ({ daemon }, a, o) => {
    const dhText = str(a, 'dh');
    const dh = dhText === undefined ? undefined : parseDhChoice(dhText);
    if (dhText !== undefined && dh === undefined) return Promise.reject(new OpError(`invalid --dh '${dhText}': use ${dhChoiceForms()}`));
    if (dh !== undefined && !str(a, 'child')) return Promise.reject(new OpError('rekey --dh needs --child NAME'));
    return daemon.rekeyAndWait({ ike: str(a, 'ike'), child: str(a, 'child'), dh }, o);
  }),
];
