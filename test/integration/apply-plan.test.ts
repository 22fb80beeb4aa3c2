import { mkdir, readFile, readdir, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { applyPlan } from '../../src/io/fs.js'
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
