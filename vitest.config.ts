import { defineConfig } from 'vitest/config'

/**
 * Integration files whose time goes to child tools (buf, protoc, drizzle-kit, npm, docker-compose
 * config) and that time nothing: they run two at a time, before the others. Every other
 * integration file runs alone, as its timings (faults, load rates, crash loops) would not hold on a
 * machine shared with another test. A new file runs alone unless it is added here.
 */
const INTEGRATION_PARALLEL = [
  'proto',
  'scaffold-docs',
  'sync',
  'commands',
  'bin',
  'compose-flavour',
  'compose-override',
  'apply-plan',
  'fs-atomic',
  'image-build',
  'netns-tools',
  'engines',
  'engine',
  'docker-hints',
  'down-volumes',
  'callee-env',
  'events-cli',
  'otlp-receiver',
].map((name) => `test/integration/${name}.test.ts`)

// Four projects (STYLE.md §6): pure unit tests beside their code (src/ and the kit's plain .ts
// templates), integration tests of one command in a temp dir (in two groups, see above), and
// end-to-end tests of the built bin (Docker and npm install inside). Two workers: vitest's default
// on a 2-core machine is one (cores - 1), which left a core idle while tests waited on tools.
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
          name: 'integration-parallel',
          include: INTEGRATION_PARALLEL,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: INTEGRATION_PARALLEL,
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
