// Lines about a datagram as such (before it is known to be any IKE_SA's message), shared by the Dispatcher, which
// decodes every datagram first, and the TaskManager, which decodes again what its receive fault point changed or
// held back: both must print exactly charon's lines for the same failure.
import type { LogGroup } from '../log/groups.js';
import { fmtEndpoint, type Endpoint } from '../net/endpoint.js';

/** Logger and BoundLogger alike (their extra context/fields parameters are optional). */
export interface LineLog {
  log(group: LogGroup, level: number, message: string): void;
}

/** charon's `received packet` line. */
export function receivedPacketLine(bytes: number, local: Endpoint, remote: Endpoint): string {
  return `received packet: from ${fmtEndpoint(remote)} to ${fmtEndpoint(local)} (${bytes} bytes)`;
}

/** A datagram whose IKE header or payload chain does not decode: charon's two lines. */
export function logUndecodable(log: LineLog, bytes: number, local: Endpoint, remote: Endpoint, error: { message: string }): void {
  log.log('NET', 1, receivedPacketLine(bytes, local, remote));
  log.log('ENC', 1, `parsing IKE message from ${fmtEndpoint(remote)} failed: ${error.message}`);
}

/** Junk messages logged per IKE_SA before only every DROP_LOG_EVERY-th is (a flood must not flood the log). */
const DROP_LOG_FIRST = 5;
const DROP_LOG_EVERY = 1000;

/**
 * The received side of one IKE_SA's log: charon's `received packet` line is printed once a message is worth looking
 * at, or with the first few junk messages of the SA. Anyone who read the SPIs off the wire can send junk, and it
 * must not flood the log.
 */
export class ReceivedLines {
  /** The datagram being handled, until its `received packet` line is printed. */
  private pending?: { bytes: number; local: Endpoint; remote: Endpoint };
  private junkSeen = 0;

  constructor(private readonly log: LineLog) {}

  /** A datagram is being handled; its line waits until something about it is logged. */
  arrived(bytes: number, local: Endpoint, remote: Endpoint): void {
    this.pending = { bytes, local, remote };
  }

  /** The `received packet` line of the datagram being handled, once. */
  flush(): void {
    const r = this.pending;
    if (!r) return;
    this.pending = undefined;
    this.log.log('NET', 1, receivedPacketLine(r.bytes, r.local, r.remote));
  }

  /** Count one junk message: its number when it is one to log (the first few, then every DROP_LOG_EVERY-th). */
  countJunk(): number | undefined {
    const n = ++this.junkSeen;
    return n > DROP_LOG_FIRST && n % DROP_LOG_EVERY !== 0 ? undefined : n;
  }

  /** Junk for this SA (dropped, never answered), rate-limited as countJunk() says. */
  junk(line: string): void {
    const n = this.countJunk();
    if (n === undefined) return;
    this.flush();
    this.log.log('IKE', 1, n > DROP_LOG_FIRST ? `${line} (${n} junk messages on this IKE_SA so far)` : line);
  }
}
