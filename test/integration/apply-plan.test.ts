import { mkdir, readFile, readdir, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { applyPlan, folderHolding, listFilesUnder } from '../../src/io/fs.js'
import { makeTempDir } from '../helpers/temp-dir.js'

describe('applyPlan', () => {
  let tmp: string
  beforeEach(async () => {
    tmp = await makeTempDir()
  })
  afterEach(async () => {
    await chmod(tmp, 0o755).catch(() => {})
    await rm(tmp, { recursive: true, force: true })
  })

  it('creates a new root in one rename, leaving no staging folder', async () => {
    await applyPlan(join(tmp, 'shop'), {
      files: [
        { path: 'a/b.txt', contents: 'x' },
        { path: 'c.txt', contents: 'y' },
      ],
    })
    expect(await readFile(join(tmp, 'shop/a/b.txt'), 'utf8')).toBe('x')
    expect(await readdir(tmp)).toEqual(['shop'])
  })

  it('refuses to overwrite without force and writes nothing', async () => {
    await mkdir(join(tmp, 'ws'))
    await writeFile(join(tmp, 'ws/keep.txt'), 'mine')
    await expect(
      applyPlan(join(tmp, 'ws'), {
        files: [
          { path: 'new.txt', contents: 'n' },
          { path: 'keep.txt', contents: 'theirs' },
        ],
      }),
    ).rejects.toThrow(/already exist.*keep\.txt/)
    expect(await readdir(join(tmp, 'ws'))).toEqual(['keep.txt'])
    expect(await readFile(join(tmp, 'ws/keep.txt'), 'utf8')).toBe('mine')
  })

  it('replaces listed files', async () => {
    await mkdir(join(tmp, 'ws'))
    await writeFile(join(tmp, 'ws/msvc.yaml'), 'old')
    await applyPlan(join(tmp, 'ws'), {
      files: [
        { path: 'services/x/a.ts', contents: 'a' },
        { path: 'msvc.yaml', contents: 'new' },
      ],
      replaces: ['msvc.yaml'],
    })
    expect(await readFile(join(tmp, 'ws/msvc.yaml'), 'utf8')).toBe('new')
    expect((await readdir(join(tmp, 'ws'))).sort()).toEqual(['msvc.yaml', 'services'])
  })

  it('rolls back moved files and restores replaced ones when a move fails', async () => {
    await mkdir(join(tmp, 'ws/blocked'), { recursive: true })
    await writeFile(join(tmp, 'ws/msvc.yaml'), 'old')
    // a file where a folder must go makes the second move fail
    await writeFile(join(tmp, 'ws/blocked/sub'), 'file, not a folder')
    await expect(
      applyPlan(
        join(tmp, 'ws'),
        {
          files: [
            { path: 'msvc.yaml', contents: 'new' },
            { path: 'services/x/a.ts', contents: 'a' },
            { path: 'blocked/sub/c.ts', contents: 'c' },
          ],
          replaces: ['msvc.yaml'],
        },
        { force: true },
      ),
    ).rejects.toThrow()
    expect(await readFile(join(tmp, 'ws/msvc.yaml'), 'utf8')).toBe('old')
    expect((await readdir(join(tmp, 'ws'))).sort()).toEqual(['blocked', 'msvc.yaml'])
  })
})

describe('folderHolding and listFilesUnder', () => {
  let tmp: string
  beforeEach(async () => {
    tmp = await makeTempDir()
  })
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true })
  })

  it('finds the nearest folder holding a file, from the start folder up, and none above the top', async () => {
    await mkdir(join(tmp, 'ws/services/a/src'), { recursive: true })
    await writeFile(join(tmp, 'ws/msvc.yaml'), 'name: ws\n')
    await writeFile(join(tmp, 'ws/services/a/msvc.yaml'), 'name: inner\n')
    expect(folderHolding('msvc.yaml', join(tmp, 'ws/services/a/src'))).toBe(join(tmp, 'ws/services/a'))
    expect(folderHolding('msvc.yaml', join(tmp, 'ws/services'))).toBe(join(tmp, 'ws'))
    expect(folderHolding('msvc.yaml', join(tmp, 'ws'))).toBe(join(tmp, 'ws'))
    expect(folderHolding('no-such-file.msvc-test', join(tmp, 'ws/services'))).toBeUndefined()
  })

  it('lists the files below a folder as sorted relative paths, and none for a missing folder', async () => {
    await mkdir(join(tmp, 'p/b/c'), { recursive: true })
    await writeFile(join(tmp, 'p/z.proto'), '')
    await writeFile(join(tmp, 'p/b/c/a.proto'), '')
    await writeFile(join(tmp, 'p/b/x.txt'), '')
    expect(await listFilesUnder(join(tmp, 'p'))).toEqual(['b/c/a.proto', 'b/x.txt', 'z.proto'])
    expect(await listFilesUnder(join(tmp, 'missing'))).toEqual([])
  })
})
