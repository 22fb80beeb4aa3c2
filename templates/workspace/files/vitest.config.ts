import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// `npm test` at the root: one vitest run over every package, each a project with its own
// vitest.config.ts (its root pinned, so a config in a folder above is never picked up). One run
// gives one summary and spreads the files over the cores; `npm test -w services/<name>` still
// runs one package alone. At least 2 workers: a test file waits on its in-process PostgreSQL
// (PGlite) as much as it computes, and on a 2-core machine 2 workers ran the tests of msvc's
// example shop in 108 s where one took 152 s (vitest's default there is 1).
export default defineConfig({
  test: {
    projects: ['packages/*', 'services/*'],
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
