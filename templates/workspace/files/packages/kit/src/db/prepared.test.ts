import { PGlite } from '@electric-sql/pglite'
import { and, eq, sql } from 'drizzle-orm'
import { bigint, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from './index.js'
import { columnPlaceholders, PreparedWrite, setPlaceholders, storedEvent } from './outbox.js'

// PreparedWrite on real PostgreSQL (PGlite): optional columns left empty are SQL NULL, values are
// encoded as their columns encode them, and the events are written only with the change.
const items = pgTable('items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  due: timestamp('due', { withTimezone: true }),
  meta: jsonb('meta').$type<{ colour: string }>(),
  count: bigint('count', { mode: 'number' }),
  version: integer('version').notNull(),
})

describe('PreparedWrite (PGlite)', () => {
  let client: PGlite
  let db: Database
  beforeAll(async () => {
    client = new PGlite()
    db = drizzle({ client }) as unknown as Database
    await client.exec(`create table items (id uuid primary key, name text not null, due timestamptz, meta jsonb, count bigint, version integer not null);
      create table outbox (id uuid primary key, seq bigserial, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz, error text)`)
    // PGlite takes more than the default 10 s hook timeout to start on a busy machine
  }, 60_000)
  afterAll(() => client.close())

  const rowOf = async (id: string) =>
    (
      await client.query<{
        due: Date | null
        meta: unknown
        meta_is_null: boolean
        count: string | null
        version: number
      }>('select due, meta, meta is null as meta_is_null, count, version from items where id = $1', [id])
    ).rows[0]
  const eventsOf = async (type: string) =>
    (
      await client.query<{ payload: unknown }>('select payload from outbox where type = $1 order by seq', [
        type,
      ])
    ).rows.map((r) => r.payload)

  it('inserts with its event: empty optional columns are NULL, the rest encoded per column', async () => {
    const insert = new PreparedWrite(db, 'items_insert', db.insert(items).values(columnPlaceholders(items)))
    const empty = crypto.randomUUID()
    expect(
      await insert.run({ id: empty, name: 'a', due: null, meta: null, count: null, version: 1 }, [
        storedEvent('item.created', { id: empty }),
      ]),
    ).toBe(true)
    expect(await rowOf(empty)).toEqual({ due: null, meta: null, meta_is_null: true, count: null, version: 1 })
    const full = crypto.randomUUID()
    const due = new Date('2026-12-04T10:00:00.000Z')
    await insert.run({ id: full, name: 'b', due, meta: { colour: 'red' }, count: 2 ** 40, version: 1 })
    expect(await rowOf(full)).toEqual({
      due,
      meta: { colour: 'red' },
      meta_is_null: false,
      count: 2 ** 40,
      version: 1,
    })
    expect(await eventsOf('item.created')).toEqual([{ id: empty }])
  })

  it('updates at the read version with its events, and writes neither at a stale one', async () => {
    const insert = new PreparedWrite(db, 'items_insert', db.insert(items).values(columnPlaceholders(items)))
    const replace = new PreparedWrite(
      db,
      'items_replace',
      db
        .update(items)
        .set(setPlaceholders(items, ['id']))
        .where(and(eq(items.id, sql.placeholder('id')), eq(items.version, sql.placeholder('expected')))),
    )
    const id = crypto.randomUUID()
    await insert.run({ id, name: 'c', due: null, meta: null, count: 1, version: 1 })
    const next = { id, name: 'c', due: null, meta: { colour: 'blue' }, count: 2, version: 2 }
    expect(await replace.run({ ...next, expected: 1 }, [storedEvent('item.changed', { id, v: 2 })])).toBe(
      true,
    )
    expect(
      await replace.run({ ...next, version: 3, expected: 1 }, [storedEvent('item.changed', { id, v: 3 })]),
    ).toBe(false)
    expect(await rowOf(id)).toMatchObject({ meta: { colour: 'blue' }, count: 2, version: 2 })
    expect(await eventsOf('item.changed')).toEqual([{ id, v: 2 }])
  })

  it('refuses a value missing for a placeholder, and a name PostgreSQL would cut', async () => {
    const insert = new PreparedWrite(db, 'items_insert', db.insert(items).values(columnPlaceholders(items)))
    await expect(insert.run({ id: crypto.randomUUID(), name: 'd' })).rejects.toThrow(
      /no value for placeholder "due"/,
    )
    expect(
      () => new PreparedWrite(db, 'x'.repeat(51), db.insert(items).values(columnPlaceholders(items))),
    ).toThrow(/longer than 50 bytes/)
  })
})
