// CHILD_SA lifetimes on the daemon's timer queue: rekey at rekey_time minus a random share of rand_time (charon's
// jitter), hard expiry at life_time (never before the rekey point: a lab config with rekey_time 4s gets
// life_time 4s from charon's integer 110% rule, and the rekey must get its chance first).
// The timers only ask the SA's TaskManager for an exchange (TaskManager.start): they import no task.
import type { ChildSa } from './child-sa.js';
import type { IkeSa } from './ike-sa.js';

export function scheduleChildTimers(sa: IkeSa, child: ChildSa): void {
  const c = child.config;
  const now = Date.now();
  let rekeyS = 0;
  if (c.rekeyTime > 0) {
    rekeyS = Math.max(0.5, c.rekeyTime - Math.random() * Math.min(c.randTime, c.rekeyTime));
    child.rekeyAt = now + rekeyS * 1000;
  }
  if (c.lifeTime > 0) child.expireAt = now + Math.max(c.lifeTime, rekeyS + Math.max(1, rekeyS * 0.1)) * 1000;
  armChildTimers(sa, child);
}

/** After an IKE_SA rekey: same deadlines, timers on the new IKE_SA. */
export function rescheduleChildTimers(sa: IkeSa, child: ChildSa): void {
  armChildTimers(sa, child);
}

function armChildTimers(sa: IkeSa, child: ChildSa): void {
  const now = Date.now();
  const alive = () => sa.children.includes(child) && child.state === 'INSTALLED' && !child.successor;
  if (child.rekeyAt !== undefined) {
    sa.setTimer(`child-rekey-${child.uniqueId}`, Math.max(0, child.rekeyAt - now), () => {
      if (!alive() || sa.state !== 'ESTABLISHED') return;
      sa.manager.start({ kind: 'CHILD_REKEY', child });
    });
  }
  if (child.expireAt !== undefined) {
    sa.setTimer(`child-expire-${child.uniqueId}`, Math.max(0, child.expireAt - now), () => {
      if (!sa.children.includes(child) || child.state === 'DELETING') return;
      sa.log.ike(1, `CHILD_SA ${child.label} lifetime expired, deleting`);
      sa.manager.start({ kind: 'CHILD_DELETE', child });
    });
  }
}

export function clearChildTimers(sa: IkeSa, child: ChildSa): void {
  sa.clearTimer(`child-rekey-${child.uniqueId}`);
  sa.clearTimer(`child-expire-${child.uniqueId}`);
}
