// Lifetime and liveness timers of an established IKE_SA, all on the daemon's single timer queue.
// The timers only ask the SA's TaskManager for an exchange (TaskManager.start): they import no task.
import type { IkeSa } from './ike-sa.js';

/** charon: rekey at rekey_time - random(0..rand_time); give up entirely over_time after the rekey point. */
export function startIkeTimers(sa: IkeSa): void {
  const c = sa.config;
  const now = Date.now();
  if (c.rekeyTime > 0) {
    const rekey = Math.max(1, Math.round(c.rekeyTime - Math.random() * Math.min(c.randTime, c.rekeyTime)));
    sa.rekeyAt = now + rekey * 1000;
    sa.log.ike(1, `scheduling rekeying in ${rekey}s`);
    const max = rekey + c.overTime;
    sa.expireAt = now + max * 1000;
    sa.log.ike(1, `maximum IKE_SA lifetime ${max}s`);
    sa.setTimer('ike-rekey', rekey * 1000, () => {
      if (sa.state !== 'ESTABLISHED') return;
      sa.manager.start({ kind: 'IKE_REKEY' });
    });
    sa.setTimer('ike-expire', max * 1000, () => {
      sa.log.ike(1, `IKE_SA ${sa.label} lifetime expired, deleting`);
      sa.manager.start({ kind: 'IKE_DELETE' });
    });
  }
  scheduleDpd(sa);
  scheduleKeepalive(sa);
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
