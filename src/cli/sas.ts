// Looking at the daemon, as src/control/commands/sas.ts and config.ts answer it: `list-sas` (swanctl --list-sas,
// filtered here by name or unique id), `list-conns`, `stats`, `ipsec-sa` (IOS's `show crypto ipsec sa` view).
import { controlCall } from '../control/client.js';
import type { ConfigSummary } from '../control/commands/config.js';
import { formatSasText, type SaJson } from '../control/sa-json.js';
import { EXIT, jsonFlag, OpFailed, socketFlags, socketPath, str, type Verb } from './verb.js';

/** A name given on the command line that is this unique id (`ikelab list-sas --ike 3`). */
const isId = (n: string, id: number) => /^\d+$/.test(n) && Number(n) === id;

/**
 * A name must be configured or name a live SA: a typo is exit 1 naming what exists, never an empty list a script
 * reads as "no SA".
 */
function checkNamesExist(cfg: ConfigSummary, sas: SaJson[], ike: string | undefined, child: string | undefined): void {
  if (ike !== undefined && !cfg.connections.some((c) => c.name === ike) && !sas.some((s) => s.name === ike || isId(ike, s.uniqueId)))
    throw new OpFailed(`no connection or IKE_SA named '${ike}' (configured: ${cfg.connections.map((c) => c.name).join(', ') || 'none'})`);
  const children = cfg.connections.flatMap((c) => c.children);
  if (
    child !== undefined &&
    !children.includes(child) &&
    !sas.some((s) => s.children.some((c) => c.name === child || isId(child, c.uniqueId)))
  )
    throw new OpFailed(`no child or CHILD_SA named '${child}' (configured: ${[...new Set(children)].join(', ') || 'none'})`);
}

/** The IKE_SAs of that connection (or id), and of those only the CHILD_SAs of that name (or id), IKE_SAs without one dropped. */
function filterSas(sas: SaJson[], ike: string | undefined, child: string | undefined): SaJson[] {
  let out = sas.filter((s) => ike === undefined || s.name === ike || isId(ike, s.uniqueId));
  if (child !== undefined)
    out = out
      .map((s) => ({ ...s, children: s.children.filter((c) => c.name === child || isId(child, c.uniqueId)) }))
      .filter((s) => s.children.length > 0);
  return out;
}

export const listSasVerb: Verb = {
  name: 'list-sas',
  synopsis: '[--ike NAME] [--child NAME] [--json]',
  summary: 'the IKE_SAs and CHILD_SAs (swanctl --list-sas); a name that is not configured is an error (exit 1)',
  flags: [
    { name: 'ike', type: 'string', arg: 'NAME', help: 'only the IKE_SAs of this connection (or this unique id)' },
    { name: 'child', type: 'string', arg: 'NAME', help: 'only CHILD_SAs of this name (and their IKE_SAs)' },
    jsonFlag,
    ...socketFlags,
  ],
  run: async (v) => {
    const socket = await socketPath(v);
    const ike = str(v, 'ike');
    const child = str(v, 'child');
    let sas = (await controlCall(socket, 'list-sas')) as SaJson[];
    if (ike !== undefined || child !== undefined) {
      checkNamesExist((await controlCall(socket, 'config')) as ConfigSummary, sas, ike, child);
      sas = filterSas(sas, ike, child);
    }
    if (v.json) console.log(JSON.stringify(sas, null, 2));
    else if (sas.length) console.log(formatSasText(sas));
    return EXIT.ok;
  },
};

export const listConnsVerb: Verb = {
  name: 'list-conns',
  synopsis: '[--json]',
  summary: "the connections of the daemon's loaded configuration and their children",
  flags: [jsonFlag, ...socketFlags],
  run: async (v) => {
    const cfg = (await controlCall(await socketPath(v), 'config')) as ConfigSummary;
    if (v.json) console.log(JSON.stringify(cfg, null, 2));
    else {
      const lines = [`loaded from ${cfg.file}`];
      for (const c of cfg.connections) lines.push(`${c.name}: children ${c.children.join(', ') || 'none'}`);
      console.log(lines.join('\n'));
    }
    return EXIT.ok;
  },
};

export const statsVerb: Verb = {
  name: 'stats',
  synopsis: '[--json]',
  summary: "the daemon's counters (always JSON; --json accepted for uniformity)",
  flags: [jsonFlag, ...socketFlags],
  run: async (v) => {
    console.log(JSON.stringify(await controlCall(await socketPath(v), 'stats'), null, 2));
    return EXIT.ok;
  },
};

export const ipsecSaVerb: Verb = {
  name: 'ipsec-sa',
  synopsis: '[--json]',
  summary: "IOS-like 'show crypto ipsec sa': per flow its counters (summed across rekeys) and ESP SAs",
  flags: [{ name: 'json', type: 'boolean', help: 'the flows as JSON (counters, SPIs, transforms)' }, ...socketFlags],
  run: async (v) => {
    const socket = await socketPath(v);
    if (v.json) console.log(JSON.stringify(await controlCall(socket, 'ipsec-sa', { json: true }), null, 2));
    else console.log(await controlCall(socket, 'ipsec-sa'));
    return EXIT.ok;
  },
};
