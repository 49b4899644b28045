// Kernel data plane for real hosts: a ChildSaBackend that installs CHILD_SAs with `ip xfrm` through an
// injected exec function (tests record the argv; the daemon passes one that spawns iproute2).
//
// Rekey without loss, as charon does it with the kernel: the new SA's inbound state goes in at once, its
// outbound state only once outboundActive (the kernel sends on the newest state of a reqid), and the
// policies, shared by all SAs of one reqid, are added with the first SA and deleted with the last.
import type { ChildSa } from '../ike/child-sa.js';
import type { IkeSa } from '../ike/ike-sa.js';
import type { ChildSaBackend } from '../ike/services.js';
import type { Logger } from '../log/logger.js';
import { xfrmPolicyCommands, xfrmStateCommand, xfrmStates, type XfrmChild } from './xfrm.js';

export type Exec = (argv: string[]) => void | Promise<void>;

/** What xfrm needs of a CHILD_SA and its IKE_SA. */
export function xfrmChild(ike: IkeSa, child: ChildSa): XfrmChild {
  if (!child.suite || !child.keys) throw new Error(`CHILD_SA ${child.label} has no negotiated suite or keys`);
  return {
    ...child.suite,
    local: ike.local.address,
    remote: ike.remote.address,
    encap: child.encap ? { localPort: ike.local.port, remotePort: ike.remote.port } : undefined,
    spiIn: child.spiIn,
    spiOut: child.spiOut,
    reqid: child.reqid || child.uniqueId,
    keys: child.keys,
    replayWindow: child.config.replayWindow,
    localTs: child.localTs,
    remoteTs: child.remoteTs,
  };
}

interface Installed {
  spec: XfrmChild;
  outbound: boolean;
  policyKey: string;
}

export class XfrmBackend implements ChildSaBackend {
  private readonly installed = new Map<ChildSa, Installed>();
  private readonly policyRefs = new Map<string, number>();
  /** Commands run strictly in order (a policy after its state), even when exec is asynchronous. */
  private queue: Promise<void> = Promise.resolve();
  failures = 0;

  constructor(private readonly exec: Exec, private readonly log: Logger) {}

  private run(argv: string[]): void {
    this.log.log('KNL', 2, `${argv.join(' ').replace(/0x[0-9a-f]{16,}/g, '0x<key>')}`);
    this.queue = this.queue
      .then(() => this.exec(argv))
      .catch((e: unknown) => {
        this.failures++;
        this.log.log('KNL', 1, `'${argv.slice(0, 4).join(' ')}' failed: ${(e as Error).message}`);
      });
  }

  /** Resolves when every command issued so far has run. */
  flush(): Promise<void> {
    return this.queue;
  }

  install(ike: IkeSa, child: ChildSa): void {
    let inst = this.installed.get(child);
    if (!inst) {
      const spec = xfrmChild(ike, child);
      inst = { spec, outbound: false, policyKey: `${spec.local}|${spec.remote}|${spec.reqid}` };
      this.installed.set(child, inst);
      this.run(xfrmStateCommand('add', xfrmStates(spec).inbound));
      // Every SA of the reqid holds a reference from its first install, so the old SA's removal during a
      // rekey never leaves a gap without policies (traffic would leave in the clear).
      const refs = this.policyRefs.get(inst.policyKey) ?? 0;
      this.policyRefs.set(inst.policyKey, refs + 1);
      if (refs === 0) for (const c of xfrmPolicyCommands('add', spec)) this.run(c);
    }
    if (child.outboundActive && !inst.outbound) {
      inst.outbound = true;
      this.run(xfrmStateCommand('add', xfrmStates(inst.spec).outbound));
    }
  }

  remove(_ike: IkeSa, child: ChildSa): void {
    const inst = this.installed.get(child);
    if (!inst) return;
    this.installed.delete(child);
    const refs = (this.policyRefs.get(inst.policyKey) ?? 1) - 1;
    if (refs === 0) {
      this.policyRefs.delete(inst.policyKey);
      for (const c of xfrmPolicyCommands('del', inst.spec)) this.run(c);
    } else this.policyRefs.set(inst.policyKey, refs);
    const { inbound, outbound } = xfrmStates(inst.spec);
    if (inst.outbound) this.run(xfrmStateCommand('del', outbound));
    this.run(xfrmStateCommand('del', inbound));
  }
}
