import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

/** A fresh temp folder per test, removed afterwards (also on failure). */
export function useTempDir(): () => string {
  let dir: string | undefined
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    dir = undefined
  })
  return () => {
    if (!dir) throw new Error('call makeTempDir() in beforeEach or the test first')
    return dir
  }
}

export async function makeTempDir(prefix = 'msvc-test-'): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), prefix)))
}
