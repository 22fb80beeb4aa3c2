/**
 * What `msvc sync` records of its last run, so that a sync with nothing to change need not load
 * drizzle-kit (about 350 ms, measured) nor run protoc and its plugin (about 300 ms, waited for) of
 * the 1.1 s such a sync took on 6 services:
 * - `services/<name>/drizzle/meta/msvc-sync.json`: the hash of the tables msvc derived from
 *   msvc.yaml and the hash of the folder's journal and latest snapshot, when drizzle-kit last
 *   found nothing to add;
 * - `packages/clients/msvc-sync.json`: the hash of what the clients are generated from (the model
 *   and every proto file) and of the generated clients, after the last sync.
 * Each says "these inputs gave these outputs" under one msvc version, which stays true wherever it
 * is read: the records are committed with the files they describe, so a fresh clone is fast too.
 * Any change to either side (a field, a proto, a migration or a client edited by hand, another
 * msvc) does the work again, and a record that does not parse counts as none.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TableSpec } from '../core/db/table.js'
import { GEN_DIR } from '../core/proto/model.js'
import type { Workspace } from '../core/workspace/model.js'
import { listFilesUnder, writeFileAtomic } from './fs.js'

/** A record: these inputs (hashed) gave these outputs (hashed). */
export interface SyncRecord {
  input: string
  output: string
}

export const RECORD = 'msvc-sync.json'
const CLIENTS_DIR = join('packages', 'clients')

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

/** The hash of a service's tables as derived from the model, with the msvc version that derived them. */
export const tablesKey = (tables: TableSpec[], version: string): string =>
  sha(JSON.stringify({ version, tables }))

/** The hash of a migrations folder's journal and its latest snapshot; undefined when there is none. */
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

/** The generated clients as they are on disk (and which files the package around them has). */
export async function clientsOutputKey(root: string): Promise<string> {
  const h = createHash('sha256')
  const dir = join(root, GEN_DIR)
  for (const rel of (await listFilesUnder(dir).catch(() => [] as string[])).sort())
    h.update(`${rel}\0`)
      .update(await readFile(join(dir, rel)))
      .update('\0')
  const pkg = (await readdir(join(root, CLIENTS_DIR)).catch(() => [] as string[])).filter((f) => f !== RECORD)
  return h.update(pkg.sort().join('\0')).digest('hex')
}

/** Where the records are: a postgres service's in its migrations' meta folder, the clients' in their package. */
export const migrationsRecordPath = (root: string, service: string) =>
  join(root, 'services', service, 'drizzle', 'meta', RECORD)
export const clientsRecordPath = (root: string) => join(root, CLIENTS_DIR, RECORD)

export async function readRecord(path: string): Promise<SyncRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as Partial<SyncRecord>
    return typeof r.input === 'string' && typeof r.output === 'string'
      ? { input: r.input, output: r.output }
      : undefined
  } catch {
    return undefined
  }
}

/** Writes a record when it changed (as prettier would lay it out: the file is committed). */
export async function writeRecord(path: string, record: SyncRecord, previous: SyncRecord | undefined) {
  if (previous?.input === record.input && previous.output === record.output) return
  await writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n')
}
