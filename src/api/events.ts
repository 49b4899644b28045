// peer.on / peer.waitFor over Logger.onEvent: patterns (a name, a `family.` prefix, `*`) and field matches.
import { EVENT_NAMES, type IkelabEvent } from '../log/events.js';
import type { Logger } from '../log/logger.js';
import { PeerError } from './errors.js';
import type { EventMatch, EventPattern, WaitForOptions } from './types.js';

const FAMILIES = new Set(EVENT_NAMES.map((n) => n.slice(0, n.indexOf('.') + 1)));

/**
 * The test for one pattern. A pattern that can never match (a typo such as `ike.establised`) is refused: a
 * listener that silently hears nothing is how an assertion passes for the wrong reason.
 */
export function patternTest(pattern: EventPattern): (name: string) => boolean {
  if (pattern === '*') return () => true;
  const prefix = pattern.endsWith('.*') ? pattern.slice(0, -1) : pattern;
  if (prefix.endsWith('.') && FAMILIES.has(prefix)) return (name) => name.startsWith(prefix);
  if ((EVENT_NAMES as readonly string[]).includes(pattern)) return (name) => name === pattern;
  throw new TypeError(
    `unknown event pattern '${pattern}': expected '*', a family (${[...FAMILIES].join(', ')}) or an event name (${EVENT_NAMES.join(', ')})`,
  );
}

export function matches(e: IkelabEvent, m: EventMatch | undefined): boolean {
  if (m === undefined) return true;
  if (typeof m === 'function') return m(e);
  return Object.entries(m).every(([k, v]) => (Array.isArray(v) ? JSON.stringify(e[k]) === JSON.stringify(v) : e[k] === v));
}

export function onEvents(log: Logger, pattern: EventPattern, listener: (e: IkelabEvent) => void): () => void {
  const test = patternTest(pattern);
  const off = log.onEvent((e) => {
    if (test(e.event)) listener(e);
  });
  return () => void off();
}

/** The next matching event; rejects on timeout, or with the signal's reason when the peer stops first. */
export function waitForEvent(log: Logger, signal: AbortSignal, pattern: EventPattern, o: WaitForOptions = {}): Promise<IkelabEvent> {
  let test: (name: string) => boolean;
  try {
    test = patternTest(pattern);
  } catch (e) {
    return Promise.reject(e); // a promise API reports everything through its promise
  }
  const timeoutMs = o.timeoutMs ?? 10_000;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const end = (): void => {
      off();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      end();
      reject(signal.reason);
    };
    const off = log.onEvent((e) => {
      if (!test(e.event) || !matches(e, o.match)) return;
      end();
      resolve(e);
    });
    const timer = setTimeout(() => {
      end();
      reject(new PeerError(`waitFor ${pattern}: no matching event within ${timeoutMs} ms`, { reason: 'timeout' }));
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
