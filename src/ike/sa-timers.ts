// Every timer event of an IKE_SA and its CHILD_SAs, on the daemon's one timer queue (svc.timers):
//
//   half-open          a responder IKE_SA not up after HALF_OPEN_TIMEOUT_MS is destroyed (RFC 7296 2.6)
//   ike-rekey          IKE_SA rekey at rekey_time - random(0..rand_time), or the retry of a failed rekey
//   ike-expire         the IKE_SA is deleted over_time after its rekey point
//   dpd                liveness check once nothing came from the peer for dpd_delay (RFC 7296 2.4)
//   keepalive          NAT-T keepalive every keep_alive while behind a NAT (RFC 3948 4)
//   child-rekey-<id>   CHILD_SA rekey at rekey_time - random(0..rand_time), or the retry of a failed rekey
//   child-expire-<id>  CHILD_SA hard expiry at life_time
//   retransmit         the request in flight (armed by the TaskManager, which owns retransmission)
//
// Deadlines are absolute times on the queue's clock (sa.rekeyAt, child.rekeyAt, ...), never wall-clock time, and
// random shares come from svc.random: with a test clock and a seeded source every deadline is repeatable. A
// CHILD_SA that moves to the new IKE_SA of an IKE rekey keeps its deadlines (RFC 7296 2.18: the CHILD_SAs are
// not rekeyed with their IKE_SA); only the new IKE_SA gets fresh ones.
// Who arms what: the SA's state changes (IkeSa.established(), installChild/moveChildren in child-setup.ts,
// IkeSa.removeChild/destroy) and the TaskManager (retransmit; retryLater when a task asks for a retry). Tasks
// arm nothing themselves. The timers only ask the SA's TaskManager for an exchange (TaskManager.start): this file
// imports no task.
import { uniform } from '../crypto/random.js';
import type { ChildSa } from './child-sa.js';
import type { IkeSa } from './ike-sa.js';
import type { TimedExchange } from './task.js';

/** charon's half_open_timeout: a responder IKE_SA that is not established by then is dropped. */
export const HALF_OPEN_TIMEOUT_MS = 30_000;

/** A random share of `range` seconds (charon's rand_time jitter); no draw from the source when there is none. */
function randomShare(sa: IkeSa, range: number): number {
  return range > 0 ? uniform(sa.svc.random) * range : 0;
}

// --- IKE_SA -----------------------------------------------------------------------------------------------

/** RFC 7296 2.6: bound half-open state on the responder (charon's half_open_timeout). */
export function startHalfOpenTimer(sa: IkeSa, peer: string): void {
  sa.setTimer('half-open', HALF_OPEN_TIMEOUT_MS, () => {
    if (sa.state === 'ESTABLISHED' || sa.state === 'DESTROYING') return;
    sa.log.ike(1, `deleting half open IKE_SA with ${peer} after timeout`);
    sa.destroy('half-open timeout');
  });
}

/**
 * The IKE_SA is established (IkeSa.established()): no longer half-open; charon's rekey at rekey_time -
 * random(0..rand_time), the end over_time after the rekey point, DPD and NAT-T keepalives.
 */
export function startIkeTimers(sa: IkeSa): void {
  sa.clearTimer('half-open');
  const c = sa.config;
  const now = sa.svc.timers.now();
  if (c.rekeyTime > 0) {
    const rekey = Math.max(1, Math.round(c.rekeyTime - randomShare(sa, Math.min(c.randTime, c.rekeyTime))));
    sa.rekeyAt = now + rekey * 1000;
    sa.log.ike(1, `scheduling rekeying in ${rekey}s`);
    const max = rekey + c.overTime;
    sa.expireAt = now + max * 1000;
    sa.log.ike(1, `maximum IKE_SA lifetime ${max}s`);
    armIkeRekey(sa);
    sa.setTimer('ike-expire', sa.expireAt - now, () => {
      sa.log.ike(1, `IKE_SA ${sa.label} lifetime expired, deleting`);
      sa.manager.start({ kind: 'IKE_DELETE' });
    });
  }
  scheduleDpd(sa);
  scheduleKeepalive(sa);
}

function armIkeRekey(sa: IkeSa): void {
  if (sa.rekeyAt === undefined) return;
  sa.setTimer('ike-rekey', Math.max(0, sa.rekeyAt - sa.svc.timers.now()), () => {
    if (sa.state !== 'ESTABLISHED') return;
    sa.manager.start({ kind: 'IKE_REKEY' });
  });
}

/** RFC 3948 4: keep the NAT mapping alive while we are (or pretend to be) behind a NAT. */
export function scheduleKeepalive(sa: IkeSa): void {
  const every = sa.svc.config().daemon.keepAlive * 1000;
  if (every <= 0 || !sa.natLocal) return;
  sa.setTimer('keepalive', every, () => {
    if (sa.state === 'DESTROYING') return;
    sa.svc.sendKeepalive(sa);
    scheduleKeepalive(sa);
  });
}

/**
 * DPD (RFC 7296 2.4): a liveness check only when nothing arrived from the peer for dpd_delay. After a check
 * (or when one cannot be sent because an exchange is in flight) the next look is a full dpd_delay later.
 */
export function scheduleDpd(sa: IkeSa, wait?: number): void {
  const delay = sa.config.dpdDelay * 1000;
  if (delay <= 0) return;
  const idle = sa.svc.timers.now() - sa.lastInbound;
  sa.setTimer('dpd', wait ?? Math.max(0, delay - idle), () => {
    if (sa.state === 'DESTROYING') return;
    const quiet = sa.svc.timers.now() - sa.lastInbound;
    if (quiet < delay - 1) return scheduleDpd(sa);
    if (!sa.manager.busy && sa.state === 'ESTABLISHED') {
      sa.manager.start({ kind: 'IKE_DPD' });
    }
    scheduleDpd(sa, delay);
  });
}

// --- CHILD_SA ---------------------------------------------------------------------------------------------

const childRekeyTimer = (child: ChildSa): string => `child-rekey-${child.uniqueId}`;
const childExpireTimer = (child: ChildSa): string => `child-expire-${child.uniqueId}`;

/**
 * A CHILD_SA got installed: rekey at rekey_time minus a random share of rand_time (charon's jitter), hard expiry at
 * life_time (never before the rekey point: a lab config with rekey_time 4s gets life_time 4s from charon's integer
 * 110% rule, and the rekey must get its chance first).
 */
export function scheduleChildTimers(sa: IkeSa, child: ChildSa): void {
  const c = child.config;
  const now = sa.svc.timers.now();
  let rekeyS = 0;
  if (c.rekeyTime > 0) {
    rekeyS = Math.max(0.5, c.rekeyTime - randomShare(sa, Math.min(c.randTime, c.rekeyTime)));
    child.rekeyAt = now + rekeyS * 1000;
  }
  if (c.lifeTime > 0) child.expireAt = now + Math.max(c.lifeTime, rekeyS + Math.max(1, rekeyS * 0.1)) * 1000;
  armChildRekey(sa, child);
  armChildExpire(sa, child);
}

/** IKE_SA rekey: the CHILD_SA now belongs to `to`; its timers go along with the same absolute deadlines. */
export function moveChildTimers(from: IkeSa, to: IkeSa, child: ChildSa): void {
  clearChildTimers(from, child);
  armChildRekey(to, child);
  armChildExpire(to, child);
}

export function clearChildTimers(sa: IkeSa, child: ChildSa): void {
  sa.clearTimer(childRekeyTimer(child));
  sa.clearTimer(childExpireTimer(child));
}

function armChildRekey(sa: IkeSa, child: ChildSa): void {
  if (child.rekeyAt === undefined) return;
  sa.setTimer(childRekeyTimer(child), Math.max(0, child.rekeyAt - sa.svc.timers.now()), () => {
    const alive = sa.children.includes(child) && child.state === 'INSTALLED' && !child.successor;
    if (!alive || sa.state !== 'ESTABLISHED') return;
    sa.manager.start({ kind: 'CHILD_REKEY', child });
  });
}

function armChildExpire(sa: IkeSa, child: ChildSa): void {
  if (child.expireAt === undefined) return;
  sa.setTimer(childExpireTimer(child), Math.max(0, child.expireAt - sa.svc.timers.now()), () => {
    if (!sa.children.includes(child) || child.state === 'DELETING') return;
    sa.log.ike(1, `CHILD_SA ${child.label} lifetime expired, deleting`);
    sa.manager.start({ kind: 'CHILD_DELETE', child });
  });
}

// --- retries a task asked for (TaskResult.retry; the TaskManager calls this) ----------------------------------

/**
 * Start `x` again after `afterMs`. A rekey retry moves the SA's rekey deadline (it is when the next rekey
 * happens, also for list-sas and for a CHILD_SA that moves to a new IKE_SA meanwhile); the expiry stays.
 */
export function retryLater(sa: IkeSa, x: TimedExchange, afterMs: number): void {
  const at = sa.svc.timers.now() + afterMs;
  switch (x.kind) {
    case 'IKE_REKEY':
      sa.rekeyAt = at;
      armIkeRekey(sa);
      return;
    case 'CHILD_REKEY':
      x.child.rekeyAt = at;
      armChildRekey(sa, x.child);
      return;
    default:
      sa.setTimer(`retry-${x.kind.toLowerCase()}`, afterMs, () => {
        if (sa.state === 'ESTABLISHED') sa.manager.start(x);
      });
  }
}
