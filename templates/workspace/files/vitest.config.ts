import { defineConfig } from 'vitest/config'

// `npm test` at the root: one vitest run over every package, each a project with its own
// vitest.config.ts (its root pinned, so a config in a folder above is never picked up). One run
// gives one summary and spreads the files of every package over vitest's workers (as many as the
// cores less one); `npm test -w services/<name>` still tests one package alone.
export default defineConfig({
  test: { projects: ['packages/*', 'services/*'] },
})
