#!/usr/bin/env node
// Bundles the service in the current folder into one ESM file, dist/main.js, which is all its
// Docker image needs. Run by each service's `npm run build` (after its type check) and by `msvc up`.
import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { cp, rm } from 'node:fs/promises'

await rm('dist', { recursive: true, force: true })
try {
  await build({
    entryPoints: ['src/main.ts'],
    outfile: 'dist/main.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Bundled CommonJS dependencies (fastify, pino) still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    // pg asks for its optional native binding only when told to
    external: ['pg-native'],
  })
} catch {
  // esbuild has already printed the errors with file:line:col
  process.exit(1)
}
// a postgres service's migrations travel with the bundle: main.ts applies them at start
if (existsSync('drizzle')) await cp('drizzle', 'dist/drizzle', { recursive: true })
