import { defineConfig } from 'vitest/config'

// The root is pinned to this package, so vitest never picks up a config from a folder above
// (the workspace may sit inside another project that has one).
// The database tests start PostgreSQL in process (PGlite): seconds on a busy machine, which
// vitest's 10 s default for a hook does not always allow.
export default defineConfig({
  test: { root: import.meta.dirname, hookTimeout: 30_000 },
})
