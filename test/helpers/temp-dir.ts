import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, realpath } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

export async function makeTempDir(prefix = 'msvc-test-'): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), prefix)))
}

/** A hash of every file under a folder, names and contents: what a refused command must leave as it was. */
export async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256')
  const walk = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else h.update(relative(dir, p)).update(await readFile(p))
    }
  }
  await walk(dir)
  return h.digest('hex')
}
