// Traffic selector narrowing (RFC 7296 2.9): the responder answers with the intersection of what the initiator
// proposed and what its own configuration allows. Ranges are compared as big-endian byte strings.
import type { TrafficSelector } from '../wire/types.js';
import { TsType } from '../wire/constants.js';

const cmp = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);
const max = (a: Buffer, b: Buffer): Buffer => (cmp(a, b) >= 0 ? a : b);
const min = (a: Buffer, b: Buffer): Buffer => (cmp(a, b) <= 0 ? a : b);

export function intersectTs(a: TrafficSelector, b: TrafficSelector): TrafficSelector | undefined {
  if (a.tsType !== b.tsType) return undefined;
  if (a.ipProtocol !== 0 && b.ipProtocol !== 0 && a.ipProtocol !== b.ipProtocol) return undefined;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (startPort > endPort) return undefined;
  const startAddr = max(a.startAddr, b.startAddr);
  const endAddr = min(a.endAddr, b.endAddr);
  if (cmp(startAddr, endAddr) > 0) return undefined;
  return {
    tsType: a.tsType,
    ipProtocol: a.ipProtocol || b.ipProtocol,
    startPort,
    endPort,
    startAddr: Buffer.from(startAddr),
    endAddr: Buffer.from(endAddr),
  };
}

/** Every non-empty pairwise intersection, duplicates removed, in the peer's order. */
export function narrow(proposed: TrafficSelector[], allowed: TrafficSelector[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const p of proposed) {
    for (const a of allowed) {
      const i = intersectTs(p, a);
      if (i && !out.some((o) => tsEqual(o, i))) out.push(i);
    }
  }
  return out;
}

export function tsEqual(a: TrafficSelector, b: TrafficSelector): boolean {
  return (
    a.tsType === b.tsType &&
    a.ipProtocol === b.ipProtocol &&
    a.startPort === b.startPort &&
    a.endPort === b.endPort &&
    a.startAddr.equals(b.startAddr) &&
    a.endAddr.equals(b.endAddr)
  );
}

/** Is every selector in `inner` contained in some selector of `outer`? (the initiator checks the response) */
export function isSubset(inner: TrafficSelector[], outer: TrafficSelector[]): boolean {
  return inner.every((i) =>
    outer.some((o) => {
      const x = intersectTs(i, o);
      return x !== undefined && tsEqual(x, { ...i, ipProtocol: x.ipProtocol });
    }),
  );
}

/** A host selector for an address (what `dynamic` resolves to). */
export function hostTs(addr: Buffer, ipProtocol = 0, startPort = 0, endPort = 65535): TrafficSelector {
  return {
    tsType: addr.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol,
    startPort,
    endPort,
    startAddr: addr,
    endAddr: addr,
  };
}
