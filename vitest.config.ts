import { defineConfig } from 'vitest/config'

// Three projects (STYLE.md §6): pure unit tests beside their code (src/ and the kit's plain .ts
// templates), integration tests of one command in a temp dir, and end-to-end tests of the built
// bin (Docker and npm install inside). Two workers for the unit tests: vitest's default on a
// 2-core machine is one (cores - 1). Integration and e2e files run one at a time: their timings
// (faults, load rates, crash loops, and the 10 s of a proto or sync test) do not hold beside
// another file (two at a time was tried: proto and sync tests ran past their 10 s).
export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'templates/**/*.test.ts'],
          // PGlite (PostgreSQL in WebAssembly, the kit's database tests) takes seconds to start on
          // a busy machine: more than vitest's 10 s default once, beside another test file
          hookTimeout: 30_000,
          // two files at a time on two cores: a CPU-bound test (drizzle-kit planning a migration,
          // 300,000 spans through the store) takes twice its time alone, past vitest's 5 s
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
