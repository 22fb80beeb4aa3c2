/**
 * What `msvc sync` remembers from its last run, so that a sync with nothing to change need not
 * load drizzle-kit (about 350 ms, measured) nor run protoc and its plugin (about 300 ms, waited
 * for) of the 1.1 s such a sync took on 6 services:
 * - per postgres service, the hash of the tables msvc derived from msvc.yaml and the hash of its
 *   migrations folder's journal and latest snapshot, as they were when drizzle-kit last found
 *   nothing to add;
 * - the hash of what the clients are generated from (msvc.yaml's model and every proto file) and
 *   of the generated clients, as they were after the last sync.
 * Any change to either side (a field, a proto, a migration or a client edited by hand, another
 * msvc) does the work again. Kept in .msvc/ (git-ignored): a fresh clone does it once.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TableSpec } from '../core/db/table.js'
import { GEN_DIR } from '../core/proto/model.js'
import type { Workspace } from '../core/workspace/model.js'
import { listFilesUnder, writeFileAtomic } from './fs.js'

const CACHE = join('.msvc', 'sync-cache.json')

export interface SyncCache {
  migrations: Record<string, { tables: string; migrations: string }>
  clients?: { input: string; output: string }
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

/** The hash of a service's tables as derived from the model, with the msvc version that derived them. */
export const tablesKey = (tables: TableSpec[], version: string): string =>
  sha(JSON.stringify({ version, tables }))

/** The hash of the migrations folder's journal and its latest snapshot; undefined when there is none. */
export async function migrationsKey(folder: string): Promise<string | undefined> {
  const journal = await readFile(join(folder, 'meta', '_journal.json'), 'utf8').catch(() => undefined)
  if (journal === undefined) return undefined
  let last: { idx: number } | undefined
  try {
    last = (JSON.parse(journal) as { entries: { idx: number }[] }).entries.at(-1)
  } catch {
    return undefined
  }
  if (!last) return undefined
  const snapshot = await readFile(
    join(folder, 'meta', `${String(last.idx).padStart(4, '0')}_snapshot.json`),
    'utf8',
  ).catch(() => undefined)
  return snapshot === undefined ? undefined : sha(journal + '\0' + snapshot)
}

/** What the clients are generated from: the model and every proto file of every service. */
export async function clientsInputKey(root: string, ws: Workspace, version: string): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify({ version, ws })).update('\0')
  for (const service of Object.keys(ws.services).sort()) {
    const dir = join(root, 'services', service, 'proto')
    for (const rel of (await listFilesUnder(dir).catch(() => [] as string[])).sort())
      h.update(`${service}/${rel}\0`)
        .update(await readFile(join(dir, rel)))
        .update('\0')
  }
  return h.digest('hex')
}

/** The generated clients as they are on disk (and whether the package around them is there). */
export async function clientsOutputKey(root: string): Promise<string> {
  const h = createHash('sha256')
  const dir = join(root, GEN_DIR)
  for (const rel of (await listFilesUnder(dir).catch(() => [] as string[])).sort())
    h.update(`${rel}\0`)
      .update(await readFile(join(dir, rel)))
      .update('\0')
  const pkg = await readdir(join(root, 'packages', 'clients')).catch(() => [] as string[])
  return h.update(pkg.sort().join('\0')).digest('hex')
}

export async function readSyncCache(root: string): Promise<SyncCache> {
  try {
    const c = JSON.parse(await readFile(join(root, CACHE), 'utf8')) as Partial<SyncCache>
    return { migrations: c.migrations ?? {}, ...(c.clients ? { clients: c.clients } : {}) }
  } catch {
    return { migrations: {} }
  }
}

export async function writeSyncCache(root: string, cache: SyncCache): Promise<void> {
  await mkdir(join(root, '.msvc'), { recursive: true })
  await writeFileAtomic(join(root, CACHE), JSON.stringify(cache, null, 2) + '\n')
}
