import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../src/io/fs.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// The one atomic write every generated file, ledger, journal and compose file goes through.
let dir: string
beforeEach(async () => {
  dir = await makeTempDir('msvc-atomic-')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('writeFileAtomic', () => {
  it('creates the folders, writes, then replaces the whole file, leaving no temp file', async () => {
    const file = join(dir, 'a/b/c.json')
    await writeFileAtomic(file, '{"v":1}\n')
    await writeFileAtomic(file, '{"v":2}\n')
    expect(await readFile(file, 'utf8')).toBe('{"v":2}\n')
    expect(await readdir(join(dir, 'a/b'))).toEqual(['c.json'])
  })

  it('fails when the rename cannot happen, and removes its temp file', async () => {
    const target = join(dir, 'taken')
    await mkdir(join(target, 'inside'), { recursive: true }) // a non-empty folder where the file goes
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow()
    expect(await readdir(dir)).toEqual(['taken'])
  })
})
