import { randomBytes } from 'node:crypto'
import { constants, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { access, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import type { FilePlan } from '../core/scaffold/render.js'
import { UserError } from '../errors.js'

/**
 * Writes a file whole or not at all: to a temp file beside it (same folder, so the same file
 * system), then renamed over it. A crash or a concurrent reader sees the old file or the new one,
 * never half of one. The folder is created if needed; the temp file is removed if the write fails.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, data)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK)
    return true
  } catch {
    return false
  }
}

/** The nearest folder, `start` itself or one above it, that holds `file`; undefined at the top. */
export function folderHolding(file: string, start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, file))) return dir
    if (dirname(dir) === dir) return undefined
  }
}

/** The files below `dir` (in every subfolder), as sorted `/`-separated paths relative to it; none if it is missing. */
export async function listFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return []
      throw e
    },
  )
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
}

export async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory() && (await readdir(path)).length > 0
  } catch {
    return false
  }
}

export interface ApplyOptions {
  /** overwrite files that already exist */
  force?: boolean
}

/**
 * Writes a plan all or nothing: every file is first written to a staging folder beside
 * the target (same filesystem), then renamed into place. When `root` does not exist yet
 * the staging folder itself is renamed to `root`, one atomic step. If a move fails, the
 * files already moved are removed and replaced files are put back.
 */
export async function applyPlan(root: string, plan: FilePlan, opts: ApplyOptions = {}): Promise<void> {
  root = resolve(root)
  const replaces = new Set(plan.replaces ?? [])
  if (!opts.force) {
    const clashes: string[] = []
    for (const f of plan.files)
      if (!replaces.has(f.path) && existsSync(join(root, f.path))) clashes.push(f.path)
    if (clashes.length > 0)
      throw new UserError(
        `${clashes.length} file(s) already exist, e.g. ${relative(process.cwd(), join(root, clashes[0]!)) || clashes[0]}`,
        'nothing was written; pass --force to overwrite them',
      )
  }
  const rootExists = await exists(root)
  const parent = rootExists ? root : dirname(root)
  await mkdir(parent, { recursive: true })
  const staging = join(parent, `.${basename(root)}.msvc-${randomBytes(4).toString('hex')}.tmp`)
  try {
    // synchronously: a plan is tens of small files, written in a few ms this way, against 20-30 ms
    // of promise and thread-pool round trips through fs/promises (issue #2)
    const made = new Set<string>()
    for (const f of plan.files) {
      const target = join(staging, f.path)
      const dir = dirname(target)
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true })
        made.add(dir)
      }
      writeFileSync(target, f.contents, { mode: f.mode ?? 0o644 })
    }
    if (!rootExists) {
      await rename(staging, root)
      return
    }
    await moveInto(staging, root, plan)
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function moveInto(staging: string, root: string, plan: FilePlan): Promise<void> {
  const moved: string[] = []
  const backups: [backup: string, original: string][] = []
  const createdDirs: string[] = []
  try {
    for (const f of plan.files) {
      const target = join(root, f.path)
      const dir = dirname(target)
      if (!(await exists(dir))) {
        const first = await mkdir(dir, { recursive: true })
        if (first) createdDirs.push(first)
      }
      if (await exists(target)) {
        const backup = join(staging, '.backup', f.path)
        await mkdir(dirname(backup), { recursive: true })
        await rename(target, backup)
        backups.push([backup, target])
      }
      await rename(join(staging, f.path), target)
      moved.push(target)
    }
  } catch (e) {
    for (const path of moved.reverse()) await rm(path, { force: true })
    for (const [backup, original] of backups.reverse()) await rename(backup, original).catch(() => {})
    for (const dir of createdDirs.reverse()) await rm(dir, { recursive: true, force: true })
    throw e
  }
}
