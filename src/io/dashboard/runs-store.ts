/**
 * Finds the workspace's runs for the dashboard (issue #18): JSON files that are load reports
 * (`msvc loadtest --json > x.json`) or chaos journals (`msvc chaos run --journal x.json`). msvc
 * writes these where the user says, so the dashboard looks where they are usually put: the
 * workspace's root, its top-level folders (load/, chaos/, reports/...) and .msvc/runs/, not in
 * node_modules, services or packages. A file is read again only when its size or time changed.
 * `msvc loadtest` run in a workspace keeps a copy of its report in .msvc/runs/ itself (keepRun).
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { sortRuns, toRunSummary, type RunSummary } from '../../core/dashboard/runs.js'
import { writeFileAtomic } from '../fs.js'

const SKIP = new Set(['node_modules', 'services', 'packages', 'dist', '.git'])
/** A load report of an hour at one point a second is ~1 MB; anything far larger is not one. */
const MAX_BYTES = 32 * 1024 * 1024

export class RunsStore {
  private readonly cache = new Map<string, { key: string; summary?: RunSummary }>()

  constructor(private readonly root: string) {}

  /** The runs found, newest first. */
  async list(): Promise<RunSummary[]> {
    const files = await this.candidates()
    const out: RunSummary[] = []
    for (const file of files) {
      const st = await stat(file).catch(() => undefined)
      if (!st || !st.isFile() || st.size > MAX_BYTES) continue
      const key = `${st.size}:${st.mtimeMs}`
      let hit = this.cache.get(file)
      if (hit?.key !== key) {
        const summary = await readFile(file, 'utf8').then(
          (t) => toRunSummary(relative(this.root, file), safeParse(t)),
          () => undefined,
        )
        hit = { key, ...(summary ? { summary } : {}) }
        this.cache.set(file, hit)
      }
      if (hit.summary) out.push(hit.summary)
    }
    return sortRuns(out)
  }

  /** One run's file as it is, by id (its path relative to the root): only a file list() found. */
  async read(id: string): Promise<{ summary: RunSummary; data: unknown } | undefined> {
    const summary = (await this.list()).find((r) => r.id === id)
    if (!summary) return undefined
    const data = safeParse(await readFile(join(this.root, summary.id), 'utf8').catch(() => ''))
    return data === undefined ? undefined : { summary, data }
  }

  private async candidates(): Promise<string[]> {
    const out: string[] = []
    const jsonIn = async (dir: string) => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
      for (const e of entries) if (e.isFile() && e.name.endsWith('.json')) out.push(join(dir, e.name))
      return entries
    }
    const top = await jsonIn(this.root)
    for (const e of top)
      if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.'))
        await jsonIn(join(this.root, e.name))
    await jsonIn(join(this.root, '.msvc', 'runs'))
    // package.json and friends are read once, found to be no run, and cached as such
    return out.sort()
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** How many runs of each kind `.msvc/runs/` keeps: the oldest go first. */
export const KEPT_RUNS = 30

/**
 * Keeps a copy of a run in the workspace's `.msvc/runs/` (git- and prettier-ignored), as
 * `<kind>-<start time>.json`, so that the dashboard shows every run without the user saving it;
 * the oldest beyond KEPT_RUNS of that kind are removed. Returns the file's path.
 */
export async function keepRun(
  root: string,
  kind: 'load' | 'chaos',
  startMs: number,
  run: unknown,
): Promise<string> {
  const dir = join(root, '.msvc', 'runs')
  await mkdir(dir, { recursive: true })
  const stamp = new Date(startMs).toISOString().replace(/[:.]/g, '-')
  const file = join(dir, `${kind}-${stamp}.json`)
  await writeFileAtomic(file, `${JSON.stringify(run)}\n`)
  const mine = (await readdir(dir)).filter((n) => n.startsWith(`${kind}-`) && n.endsWith('.json')).sort()
  for (const old of mine.slice(0, Math.max(0, mine.length - KEPT_RUNS)))
    await rm(join(dir, old), { force: true })
  return file
}
