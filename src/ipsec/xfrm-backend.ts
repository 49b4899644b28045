// Kernel data plane for real hosts: a ChildSaBackend that installs CHILD_SAs with `ip xfrm` through an
// injected exec function (tests record the argv; the daemon passes one that spawns iproute2).
//
// Rekey without loss, as charon does it with the kernel: the new SA's inbound state goes in at once, its
// outbound state only once outboundActive (the kernel sends on the newest state of a reqid), and the
// policies, shared by all SAs of one reqid, are added with the first SA and deleted with the last.
import type { Logger } from '../log/logger.js';
import type { ChildSaBackend, ChildSaSpec } from './backend.js';
import { xfrmPolicyCommands, xfrmStateCommand, xfrmStates, type XfrmChild } from './xfrm.js';

export type Exec = (argv: string[]) => void | Promise<void>;

/** What xfrm needs of a CHILD_SA. */
export function xfrmChild(spec: ChildSaSpec): XfrmChild {
  return {
    ...spec.suite,
    local: spec.local.address,
    remote: spec.remote.address,
    encap: spec.encap ? { localPort: spec.local.port, remotePort: spec.remote.port } : undefined,
    spiIn: spec.spiIn,
    spiOut: spec.spiOut,
    reqid: spec.reqid || spec.id,
    keys: spec.keys,
    replayWindow: spec.replayWindow,
    localTs: spec.localTs,
    remoteTs: spec.remoteTs,
  };
}

interface Installed {
  spec: XfrmChild;
  outbound: boolean;
  policyKey: string;
}

export class XfrmBackend implements ChildSaBackend {
  private readonly installed = new Map<number, Installed>();
  private readonly policyRefs = new Map<string, number>();
  /** Commands run strictly in order (a policy after its state), even when exec is asynchronous. */
  private queue: Promise<void> = Promise.resolve();
  failures = 0;

  constructor(
    private readonly exec: Exec,
    private readonly log: Logger,
  ) {}

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

  /**
   * A known id only gets its outbound state once outboundActive; moved endpoints are not followed (the
   * kernel's states would need an `ip xfrm state update`; the userspace engine follows them).
   */
  install(child: ChildSaSpec): void {
    let inst = this.installed.get(child.id);
    if (!inst) {
      const spec = xfrmChild(child);
      inst = { spec, outbound: false, policyKey: `${spec.local}|${spec.remote}|${spec.reqid}` };
      this.installed.set(child.id, inst);
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

  remove(id: number): void {
    const inst = this.installed.get(id);
    if (!inst) return;
    this.installed.delete(id);
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
