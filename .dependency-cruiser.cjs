// Architecture check for src/, part 1 of `npm run depcheck` (run by `npm test`): every import, type-only ones
// included, goes along the layering below. Part 2, .dependency-cruiser-cycles.cjs, forbids runtime import cycles
// on the graph Node actually loads (type-only imports do not count there).
//
//   wire      pure codec                       imports nothing of ours but itself
//   crypto    pure functions                   wire (constants) only
//   config    YAML, schema, proposals          wire, crypto (+ the ESP engines' capability predicates and the
//                                              fault rules' YAML parser, see below)
//   log, net, util                             not ike, ipsec, control, faults, daemon, cli
//   ipsec     CHILD_SA backends + ESP engine   never ike (not even types): ike calls ipsec's backend interface
//   ike       IKEv2 state machine              wire, crypto, config, log, net, util, ipsec/backend only
//   faults    failure reproduction hooks       ike only for types
//   ops       the operations (initiate, ...)   anything below; not control, cli, demo, run-daemon, daemon.ts
//   control, cli.ts + cli/ (the CLI's verbs)   outer: anything
//   api.ts, api/ the TypeScript API            ops, config, log, faults, daemon; not control, cli.ts, cli/
//   daemon.ts                                  composition root: anything but cli.ts, cli/
// (cli.ts is the entry point; its verb modules in src/cli/ sit where it does, so every rule naming it names both.)
/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const forbidden = [
  {
    name: 'wire-is-pure',
    severity: 'error',
    comment: 'src/wire is the pure codec: it imports nothing of ours but itself.',
    from: { path: '^src/wire/' },
    to: { path: '^src/', pathNot: '^src/wire/' },
  },
  {
    name: 'crypto-is-pure',
    severity: 'error',
    comment: 'src/crypto is pure functions over bytes: wire constants at most.',
    from: { path: '^src/crypto/' },
    to: { path: '^src/', pathNot: ['^src/crypto/', '^src/wire/'] },
  },
  {
    name: 'config-below-protocols',
    severity: 'error',
    comment: 'src/config (YAML, schema, proposals) may use wire and crypto only (one exception: see the next rule).',
    from: { path: '^src/config/', pathNot: ['^src/config/proposal-support\\.ts$', '^src/config/faults\\.ts$'] },
    to: { path: '^src/', pathNot: ['^src/config/', '^src/wire/', '^src/crypto/'] },
  },
  {
    name: 'config-reads-engine-capabilities-only',
    severity: 'error',
    comment:
      'An exception to config-below-protocols: proposal-support.ts refuses at load what the configured ESP engine ' +
      'cannot run, and reads that off the engines\' own tables (the pure predicates espTransformSupported and ' +
      'xfrmTransformSupported), so config and engine never drift. Nothing else of src/ipsec, nothing of the layers above.',
    from: { path: '^src/config/proposal-support\\.ts$' },
    to: { path: '^src/', pathNot: ['^src/config/', '^src/wire/', '^src/crypto/', '^src/ipsec/(esp-transform|xfrm)\\.ts$'] },
  },
  {
    name: 'config-reads-fault-rules-only',
    severity: 'error',
    comment:
      'The other exception: config/faults.ts reads the `faults:` key with the fault engine\'s own YAML parser (src/faults ' +
      'is pure and imports config\'s value parsers), so a rule means the same in the file and on the control socket. ' +
      'src/faults only, nothing of ike, ipsec or the layers above.',
    from: { path: '^src/config/faults\\.ts$' },
    to: { path: '^src/', pathNot: ['^src/config/', '^src/wire/', '^src/crypto/', '^src/faults/'] },
  },
  {
    name: 'infra-stays-below',
    severity: 'error',
    comment: 'src/log, src/net and src/util serve everyone and know none of the protocol or outer layers.',
    from: { path: '^src/(log|net|util)/' },
    to: { path: '^src/(ike|ipsec|control|faults|ops|cli)/|^src/(daemon|cli|demo|run-daemon)\\.ts$' },
  },
  {
    name: 'log-knows-no-protocol',
    severity: 'error',
    comment:
      'src/log formats nothing of the protocol: callers pass finished lines and event fields. Protocol-aware writers ' +
      '(the Wireshark key tables) live with the protocol (src/ike/key-export.ts).',
    from: { path: '^src/log/' },
    to: { path: '^src/(wire|crypto|net)/' },
  },
  {
    name: 'ipsec-never-ike',
    severity: 'error',
    comment: 'One direction between IKE and IPsec: src/ipsec imports nothing from src/ike, not even types (src/ike calls the backend interface of src/ipsec/backend.ts with a plain spec).',
    from: { path: '^src/ipsec/' },
    to: { path: '^src/ike/' },
  },
  {
    name: 'ipsec-below-outer',
    severity: 'error',
    comment: 'src/ipsec knows neither the control API, the fault hooks nor the daemon.',
    from: { path: '^src/ipsec/' },
    to: { path: '^src/(control|faults|ops|cli)/|^src/(daemon|cli|demo|run-daemon)\\.ts$' },
  },
  {
    name: 'ike-uses-ipsec-interface-only',
    severity: 'error',
    comment: 'src/ike reaches the data plane through the backend interface only, never an engine.',
    from: { path: '^src/ike/' },
    to: { path: '^src/ipsec/', pathNot: '^src/ipsec/backend\\.ts$' },
  },
  {
    name: 'ike-below-outer',
    severity: 'error',
    comment: 'src/ike knows neither the control API, the fault hooks, the CLI nor the daemon (they drive it).',
    from: { path: '^src/ike/' },
    to: { path: '^src/(control|faults|ops|cli)/|^src/(daemon|cli|demo|run-daemon)\\.ts$' },
  },
  {
    name: 'faults-use-ike-types-only',
    severity: 'error',
    comment: 'src/faults may name IKE types but not run IKE internals.',
    from: { path: '^src/faults/' },
    to: { path: '^src/ike/', dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'faults-below-outer',
    severity: 'error',
    comment: 'src/faults is used by the daemon and the control API, not the other way round.',
    from: { path: '^src/faults/' },
    to: { path: '^src/(control|ops|cli)/|^src/(daemon|cli|demo|run-daemon)\\.ts$' },
  },
  {
    name: 'scenario-is-a-client',
    comment:
      'src/scenario (ikelab scenario) drives a running daemon over the control socket, like swanctl: it may use the ' +
      'control client, config parsers, fault rule syntax and event names, never the protocol engines or the daemon.',
    severity: 'error',
    from: { path: '^src/scenario/' },
    to: { path: '^src/(ike|ipsec|net)/|^src/(daemon|run-daemon|demo|faults-wiring)\\.ts$' },
  },
  {
    name: 'ops-below-outer',
    severity: 'error',
    comment:
      'src/ops holds the operations the control verbs, tests and a TypeScript API call; it works on the parts through ' +
      'OpsContext and knows neither the control layer, the CLI, the process entry points nor the Daemon that built them.',
    from: { path: '^src/ops/' },
    to: { path: '^src/(control|cli)/|^src/(daemon|cli|demo|run-daemon)\\.ts$' },
  },
  {
    name: 'daemon-is-not-outer',
    severity: 'error',
    comment: 'src/daemon.ts composes the layers below it; the CLI and control API sit on top of it.',
    from: { path: '^src/(daemon|run-daemon)\\.ts$' },
    to: { path: '^src/cli(\\.ts$|/)' },
  },
  {
    name: 'api-drives-the-daemon-only',
    severity: 'error',
    comment:
      'src/api.ts and src/api/ (the TypeScript API, `import from "ikelab"`) run a Daemon in-process and call its ops: ' +
      'they may use ops, config, log, faults and the daemon (daemon.ts, run-daemon.ts, faults-wiring.ts), never the ' +
      'CLI or the control layer (a test suite needs no control socket) nor the protocol internals directly.',
    from: { path: '^src/api(\\.ts$|/)' },
    to: {
      path: '^src/',
      pathNot: ['^src/api(\\.ts$|/)', '^src/(ops|config|log|faults)/', '^src/(daemon|run-daemon|faults-wiring)\\.ts$'],
    },
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
