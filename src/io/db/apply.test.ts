import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { MIGRATION_LOCK } from './apply.js'

describe('msvc db migrate', () => {
  it('takes the same advisory lock as a service starting (the kit), so the two never race', async () => {
    const kit = await readFile(
      new URL('../../../templates/workspace/files/packages/kit/src/db/index.ts', import.meta.url),
      'utf8',
    )
    const m = /const MIGRATION_LOCK = ([\d_]+)/.exec(kit)
    expect(Number(m?.[1]?.replaceAll('_', ''))).toBe(MIGRATION_LOCK)
  })
})
