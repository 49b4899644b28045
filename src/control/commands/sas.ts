// Looking at the SAs: `list-sas` (IKE and CHILD_SAs as JSON), `stats`, `ipsec-sa` (IOS's `show crypto ipsec sa`
// view; with json: its flows as data).
import type { ControlCommand } from './command.js';

export const saCommands: readonly ControlCommand[] = [
  { name: 'list-sas', run: ({ daemon }) => daemon.listSas() },
  { name: 'stats', run: ({ daemon }) => daemon.stats() },
  { name: 'ipsec-sa', run: ({ daemon }, a) => (a.json === true || a.json === 'true' ? daemon.ipsecSaFlows() : daemon.ipsecSaView()) },
];
