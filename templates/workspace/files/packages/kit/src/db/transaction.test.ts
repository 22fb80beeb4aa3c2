import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { integer, pgTable, text } from 'drizzle-orm/pg-core'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from './index.js'
import { columnPlaceholders, PreparedWrite, storedEvent } from './outbox.js'
import {
  afterCommit,
  currentQueryable,
  currentTransaction,
  inTransaction,
  outsideTransaction,
  toDrizzleSql,
} from './transaction.js'

// A repository's writes join the transaction of inTransaction without being handed it (PGlite).
const items = pgTable('items', { id: text('id').primaryKey(), n: integer('n').notNull() })

describe('inTransaction (PGlite)', () => {
  let client: PGlite
  let db: Database
  let insert: PreparedWrite
  beforeAll(async () => {
    client = new PGlite()
    db = drizzle({ client }) as unknown as Database
    await client.exec(`create table items (id text primary key, n integer not null);
      create table outbox (id uuid primary key, seq bigserial, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz, error text)`)
    insert = new PreparedWrite(db, 'items_insert', db.insert(items).values(columnPlaceholders(items)))
  }, 60_000)
  afterAll(() => client.close())
  beforeEach(() => client.exec('truncate items, outbox'))

  const ids = async () =>
    (await client.query<{ id: string }>('select id from items order by id')).rows.map((r) => r.id)
  const events = async () => (await client.query('select 1 from outbox')).rows.length

  it('a PreparedWrite inside it commits with the transaction, or rolls back with it', async () => {
    await inTransaction(db, async (tx) => {
      await insert.run({ id: 'a', n: 1 }, [storedEvent('item.created', { id: 'a' })])
      await tx.execute(sql`insert into items (id, n) values ('b', 2)`)
    })
    await expect(
      inTransaction(db, async () => {
        await insert.run({ id: 'c', n: 3 }, [storedEvent('item.created', { id: 'c' })])
        throw new Error('refused')
      }),
    ).rejects.toThrow('refused')
    expect(await ids()).toEqual(['a', 'b'])
    expect(await events()).toBe(1)
  })

  it('runs afterCommit callbacks once committed, never on rollback, and at once outside a transaction', async () => {
    const seen: string[] = []
    await inTransaction(db, async () => {
      afterCommit(db, () => seen.push('committed'))
      seen.push('inside')
    })
    await inTransaction(db, async () => {
      afterCommit(db, () => seen.push('never'))
      throw new Error('rolled back')
    }).catch(() => undefined)
    afterCommit(db, () => seen.push('at once'))
    expect(seen).toEqual(['inside', 'committed', 'at once'])
  })

  it('joins the transaction it is called in, and tells each concurrent caller its own', async () => {
    await inTransaction(db, async (outer) => {
      expect(currentTransaction(db)).toBe(outer)
      expect(currentQueryable(db)).toBe(outer)
      await inTransaction(db, async (inner) => expect(inner).toBe(outer))
    })
    expect(currentTransaction(db)).toBeUndefined()
    expect(currentQueryable(db)).toBe(db)
    // work started from inside that outlives it (a saga woken there) is outside it, and stays so
    await inTransaction(db, async () => {
      const later = outsideTransaction(async () => {
        await new Promise((r) => setTimeout(r, 1))
        return currentTransaction(db)
      })
      expect(await later).toBeUndefined()
    })
    // another database's transaction is not this one's
    const other = drizzle({ client }) as unknown as Database
    await inTransaction(other, async () => expect(currentTransaction(db)).toBeUndefined())
    const seen = await Promise.all(
      ['x', 'y'].map((id) =>
        inTransaction(db, async (tx) => {
          await insert.run({ id, n: 0 })
          return currentTransaction(db) === tx
        }),
      ),
    )
    expect(seen).toEqual([true, true])
    expect(await ids()).toEqual(['x', 'y'])
  })

  it('turns $n parameters into a drizzle query, repeated and out of order', async () => {
    const rows = await db.execute(
      toDrizzleSql('select $2::int as two, $1::text as one, $2::int + 1 as three', ['a', 2]),
    )
    expect((rows as unknown as { rows: unknown[] }).rows).toEqual([{ two: 2, one: 'a', three: 3 }])
  })
})
