#!/usr/bin/env node
// Writes the standalone validators (see scripts/validators.mjs) from the TypeScript schemas,
// bundled on the fly with esbuild so that no build is needed first: `npm run gen:validators`.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadSchema, VALIDATORS, generateValidator } from './validators.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
for (const v of VALIDATORS) {
  writeFileSync(`${root}/${v.out}`, generateValidator(await loadSchema(root, v), v.options))
  console.log(`wrote ${v.out}`)
}
