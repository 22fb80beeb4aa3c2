import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { generateValidator, loadSchema, VALIDATORS } from './validators.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('the precompiled schema validators', () => {
  for (const v of VALIDATORS)
    it(`${v.out} is what its schema compiles to (else: npm run gen:validators)`, async () => {
      const committed = readFileSync(`${root}/${v.out}`, 'utf8')
      expect(committed === generateValidator(await loadSchema(root, v), v.options)).toBe(true)
    })
})
