import { defineConfig } from 'vitest/config'

// The root is pinned to this package, so vitest never picks up a config from a folder above
// (the workspace may sit inside another project that has one).
// A postgres service's tests start PostgreSQL in process (PGlite) once per file: about 2 s.
export default defineConfig({
  test: { root: import.meta.dirname, hookTimeout: 30_000 },
})
