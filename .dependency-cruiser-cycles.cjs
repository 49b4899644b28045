// Architecture check for src/, part 2 of `npm run depcheck`: no runtime import cycle. The graph is the one Node
// loads: with tsPreCompilationDeps off, dependency-cruiser reads each module as TypeScript emits it, so
// `import type` and imports used only as types are gone (they cannot make a cycle at run time), while every
// value import stays. Layering (type imports included) is part 1, .dependency-cruiser.cjs.
//
// A cycle is broken by design, not by hiding an import: pass a factory or callback, let the owner create what
// it owns (TaskManager.start creates the tasks the timers ask for), or move a function to where it belongs.
const { options } = require('./.dependency-cruiser.cjs');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycle',
      severity: 'error',
      comment: 'A runtime import cycle: module evaluation order decides what is still undefined when a module body runs.',
      from: {},
      to: { circular: true },
    },
  ],
  options: { ...options, tsPreCompilationDeps: false },
};
