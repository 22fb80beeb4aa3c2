import { defineConfig } from 'vitest/config'

// The root is pinned to this package, so vitest never picks up a config from a folder above
// (the workspace may sit inside another project that has one).
export default defineConfig({
  test: { root: import.meta.dirname },
})
