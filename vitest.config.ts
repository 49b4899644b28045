import { defineConfig } from 'vitest/config';

// Files that must not share the 2 CPUs with another test file: they measure or drive load (floods, bursts, 2,000
// SAs against charon) or need two exchanges to cross within a window (collisions). They run one at a time after
// the rest. The xfrm image check is here because it takes scripts/lab.sh's lock, which test/docker/labs.test.ts
// holds for minutes: in the shared group it would block a worker that long.
const ALONE = [
  'test/interop/load-mix.test.ts',
  'test/interop/load-run.test.ts',
  'test/interop/collision.test.ts',
  'test/interop/collision-on-demand.test.ts',
  'test/interop/cookie-flood.test.ts',
  'test/interop/attacks.test.ts',
  'test/ike/init-burst.test.ts',
  'test/ike/sa-scale.test.ts',
  'test/docker/xfrm-image.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: ALONE,
          // Two files at a time even on a 2-core machine (vitest's default there is 1): the interop and docker files
          // spend most of their time waiting on charon's timers (rekeys, DPD, retransmits), not on a CPU.
          // IKELAB_TEST_WORKERS=1 gives the old serial run.
          maxWorkers: Number(process.env.IKELAB_TEST_WORKERS ?? 2),
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
