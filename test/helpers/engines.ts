import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import semver from 'semver'

export const enginesOf = (range: string) => new semver.Range(range)

/** Every package folder below a node_modules folder, nested node_modules and scopes included. */
export async function installedPackageDirs(nodeModules: string): Promise<string[]> {
  const found: string[] = []
  let entries: string[]
  try {
    entries = await readdir(nodeModules)
  } catch {
    return found
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue
    const dirs = entry.startsWith('@')
      ? (await readdir(join(nodeModules, entry))).map((n) => join(nodeModules, entry, n))
      : [join(nodeModules, entry)]
    for (const dir of dirs) found.push(dir, ...(await installedPackageDirs(join(dir, 'node_modules'))))
  }
  return found
}

export interface EngineGap {
  dir: string
  range: string
}

/**
 * The packages whose `engines.node` does not cover every Node version in `declared` (the range
 * their dependent declares): on some of those versions npm would warn EBADENGINE.
 */
export async function rangeGaps(dirs: string[], declared: string): Promise<EngineGap[]> {
  const gaps: EngineGap[] = []
  for (const dir of dirs) {
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      engines?: { node?: string }
    }
    const range = manifest.engines?.node
    if (range && !semver.subset(declared, range)) gaps.push({ dir, range })
  }
  return gaps
}
