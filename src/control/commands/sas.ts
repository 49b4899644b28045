// Looking at the SAs: `list-sas` (IKE and CHILD_SAs as JSON), `stats`, `ipsec-sa` (the `ip xfrm state` view).
import type { ControlCommand } from './command.js';

export const saCommands: readonly ControlCommand[] = [
  { name: 'list-sas', run: ({ daemon }) => daemon.listSas() },
  { name: 'stats', run: ({ daemon }) => daemon.stats() },
  { name: 'ipsec-sa', run: ({ daemon }) => daemon.ipsecSaView() },
];
