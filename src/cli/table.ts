// The verb table: every verb parsed with one option table (../cli.ts), from the families' modules. The order is
// the overview's (`ikelab --help`): the daemon first, then the SA lifecycle, the views, load runs, traffic, faults.
// A new verb is a Verb in one of the families (or a new family) listed here; own-parsers.ts has the others.
import { faultVerb } from './faults.js';
import { dpdVerb, initiateVerb, loadVerb, rekeyVerb, terminateVerb } from './lifecycle.js';
import { loadMergeVerb, loadStatusVerb } from './load.js';
import { ipsecSaVerb, listConnsVerb, listSasVerb, statsVerb } from './sas.js';
import { demoVerb, startVerb } from './start.js';
import { pingVerb } from './traffic.js';
import type { Verb } from './verb.js';

export const VERBS: readonly Verb[] = [
  startVerb,
  demoVerb,
  initiateVerb,
  terminateVerb,
  rekeyVerb,
  dpdVerb,
  listSasVerb,
  listConnsVerb,
  loadStatusVerb,
  loadVerb,
  loadMergeVerb,
  statsVerb,
  pingVerb,
  ipsecSaVerb,
  faultVerb,
];
