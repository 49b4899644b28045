// Why a promise of the API was rejected, in the protocol's terms: the notify the peer refused with (or we refused
// its request with) and the reason the daemon logged, so a test asserts `notify: 'AUTHENTICATION_FAILED'` instead of
// matching message text. Refusals of the request itself (unknown child, bad override) stay the ops' OpError.
import type { Outcome } from '../ops/outcome.js';

export interface PeerErrorInit {
  reason: string;
  notify?: string;
  /** What the operation came to (src/ops/outcome.ts): which SA, and how long it took. */
  outcome?: Outcome;
}

export class PeerError extends Error {
  readonly reason: string;
  readonly notify?: string;
  readonly outcome?: Outcome;

  constructor(what: string, init: PeerErrorInit) {
    super(`${what}: ${init.notify ? `${init.notify} (${init.reason})` : init.reason}`);
    this.name = 'PeerError';
    this.reason = init.reason;
    if (init.notify !== undefined) this.notify = init.notify;
    if (init.outcome !== undefined) this.outcome = init.outcome;
  }
}
