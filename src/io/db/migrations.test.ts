import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { IDEMPOTENCY_TABLE, SAGA_TABLES, toServiceTables } from '../../core/db/table.js'
import { SAGA_TABLES_DDL } from '../../../templates/workspace/files/packages/kit/src/saga/testing.js'
import { postgresSpec } from '../../../test/helpers/service-spec.js'
import { planMigration } from './migrations.js'

const spec = (fields: string) => postgresSpec('inventories', fields)

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

/** Plans and writes a migration into `dir` (as scaffolding would), returning the plan. */
async function migrate(dir: string, fields: string, name: string, now: number) {
  const change = await planMigration(dir, toServiceTables(spec(fields)), 'svc', name, now)
  for (const f of change.files) {
    const path = join(dir, f.path.replace(/^svc\//, ''))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, f.contents)
  }
  return change
}

describe('planMigration (drizzle-kit, from the model)', () => {
  it('creates the tables first, adds a migration per change, and none when nothing changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'msvc-migrations-'))
    dirs.push(dir)
    const first = await migrate(
      dir,
      'sku:string!,quantity:integer,tags:string[],kind:enum(raw|done)=raw',
      'init',
      1000,
    )
    expect(first.tag).toBe('0000_init')
    expect(first.files.map((f) => f.path)).toEqual([
      'svc/drizzle/0000_init.sql',
      'svc/drizzle/meta/0000_snapshot.json',
      'svc/drizzle/meta/_journal.json',
    ])
    const sql = await readFile(join(dir, 'drizzle/0000_init.sql'), 'utf8')
    expect(sql).toContain('CREATE TABLE "inventories"')
    expect(sql).toContain(`"tags" jsonb DEFAULT '[]'::jsonb NOT NULL`)
    expect(sql).toContain(`"kind" text DEFAULT 'raw' NOT NULL`)
    expect(sql).toContain('CREATE TABLE "outbox"')
    expect(sql).toContain('--> statement-breakpoint')
    const same = await migrate(
      dir,
      'sku:string!,quantity:integer,tags:string[],kind:enum(raw|done)=raw',
      'sync',
      2000,
    )
    expect(same.files).toEqual([])
    // a field dropped and another added in one change: two steps, no rename question
    const next = await migrate(
      dir,
      'sku:string!,tags:string[],kind:enum(raw|done)=raw,note:string',
      'sync',
      900,
    )
    expect(next.tag).toBe('0001_sync')
    expect(next.statements).toEqual([
      'ALTER TABLE "inventories" DROP COLUMN "quantity";',
      'ALTER TABLE "inventories" ADD COLUMN "note" text;',
    ])
    const journal = JSON.parse(await readFile(join(dir, 'drizzle/meta/_journal.json'), 'utf8'))
    expect(journal.entries.map((e: { tag: string; when: number }) => [e.tag, e.when])).toEqual([
      ['0000_init', 1000],
      ['0001_sync', 1001],
    ])
    expect(await readFile(join(dir, 'drizzle/0000_init.sql'), 'utf8')).toBe(sql)
  })
})

describe('the tables of sagas (docs/sagas.md)', () => {
  it('are created by the statements the kit tests itself against', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'msvc-migrations-'))
    dirs.push(dir)
    const change = await planMigration(dir, [...SAGA_TABLES, IDEMPOTENCY_TABLE], 'svc', 'sagas', 1000)
    // the kit's tests create these tables from SAGA_TABLES_DDL: it must stay what msvc generates
    expect(change.statements).toEqual(SAGA_TABLES_DDL)
  })
})
