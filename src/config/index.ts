// Public API of src/config.

export { loadConfig, parseConfig, formatPath } from './load.js';
export { ConfigError } from './errors.js';
export { findPsk } from './secrets.js';
export { parseDuration } from './duration.js';
export { parseProposal, parseProposals, defaultProposals, formatProposal, formatProposals, isAead } from './proposals.js';
export { parseTs, formatTs, formatTsConfig, formatTsList } from './ts.js';
export type * from './types.js';
