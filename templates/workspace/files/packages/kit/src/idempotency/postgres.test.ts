import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../db/index.js'
import { currentQueryable } from '../db/transaction.js'
import { createSagaTables } from '../saga/testing.js'
import { pruneIdempotencyKeys, runIdempotent } from './postgres.js'
import { IdempotencyKeyReusedError, idempotencyKeyOf, StepCompensatedError } from './types.js'

// What a generated operation does with an idempotency key, on real PostgreSQL (PGlite).
describe('runIdempotent (PGlite)', () => {
  let client: PGlite
  let db: Database
  beforeAll(async () => {
    client = new PGlite()
    db = drizzle({ client }) as unknown as Database
    await createSagaTables(client)
    await client.exec('create table charges (id serial primary key, amount integer not null)')
  }, 60_000)
  afterAll(() => client.close())
  beforeEach(() => client.exec('truncate idempotency_keys, charges'))

  const charges = async () => (await client.query('select amount from charges')).rows

  /** The operation: a change through the repository's queryable (it joins the transaction). */
  let runs = 0
  const charge = (amount: number) => async () => {
    runs++
    await currentQueryable(db).execute(sql`insert into charges (amount) values (${amount})`)
    return { charged: amount }
  }

  it('runs the work once per key and answers the stored answer after', async () => {
    runs = 0
    const first = await runIdempotent(db, { key: 's1:charge', operation: 'payment.charge' }, charge(30))
    const again = await runIdempotent(db, { key: 's1:charge', operation: 'payment.charge' }, charge(30))
    expect(first).toEqual({ answer: { charged: 30 }, replayed: false })
    expect(again).toEqual({ answer: { charged: 30 }, replayed: true })
    expect(runs).toBe(1)
    expect(await charges()).toEqual([{ amount: 30 }])
  })

  it('runs the work once when two calls with one key come together', async () => {
    runs = 0
    const results = await Promise.all(
      [1, 2, 3].map(() => runIdempotent(db, { key: 's2:charge', operation: 'payment.charge' }, charge(5))),
    )
    expect(runs).toBe(1)
    expect(results.map((r) => r.replayed).sort()).toEqual([false, true, true])
    expect(await charges()).toEqual([{ amount: 5 }])
  })

  it('stores nothing when the work fails: its change rolls back, and the key may come again', async () => {
    await expect(
      runIdempotent(db, { key: 's3:charge', operation: 'payment.charge' }, async () => {
        await charge(7)()
        throw new Error('card declined')
      }),
    ).rejects.toThrow('card declined')
    expect(await charges()).toEqual([])
    const retried = await runIdempotent(db, { key: 's3:charge', operation: 'payment.charge' }, charge(7))
    expect(retried.replayed).toBe(false)
    expect(await charges()).toEqual([{ amount: 7 }])
  })

  it('refuses a key given to another operation', async () => {
    await runIdempotent(db, { key: 's4:charge', operation: 'payment.charge' }, charge(1))
    await expect(
      runIdempotent(db, { key: 's4:charge', operation: 'payment.refund' }, charge(-1)),
    ).rejects.toBeInstanceOf(IdempotencyKeyReusedError)
  })

  it('a compensation that comes first fences its call: the call arriving late is refused, not applied', async () => {
    runs = 0
    const refund = await runIdempotent(
      db,
      { key: 's5:charge:compensate', operation: 'payment.refund' },
      async () => {
        runs++
        return { refunded: 0 }
      },
    )
    expect(refund).toEqual({ answer: { refunded: 0 }, replayed: false })
    await expect(
      runIdempotent(db, { key: 's5:charge', operation: 'payment.charge' }, charge(9)),
    ).rejects.toBeInstanceOf(StepCompensatedError)
    expect(await charges()).toEqual([])
    // after the call, a compensation runs as any operation, and its replay answers the same
    await runIdempotent(db, { key: 's6:charge', operation: 'payment.charge' }, charge(4))
    await runIdempotent(db, { key: 's6:charge:compensate', operation: 'payment.refund' }, charge(-4))
    const again = await runIdempotent(
      db,
      { key: 's6:charge:compensate', operation: 'payment.refund' },
      charge(-4),
    )
    expect(again).toEqual({ answer: { charged: -4 }, replayed: true })
    expect(await charges()).toEqual([{ amount: 4 }, { amount: -4 }])
  })

  it('a compensation whose call never arrived answers `unchanged` and undoes nothing; after an applied call it runs its work', async () => {
    const unchanged = async () => ({ charged: 0 })
    const undo = await runIdempotent(
      db,
      { key: 's7:charge:compensate', operation: 'payment.refund' },
      charge(-3),
      unchanged,
    )
    expect(undo).toEqual({ answer: { charged: 0 }, replayed: false })
    expect(await charges()).toEqual([])
    await expect(
      runIdempotent(db, { key: 's7:charge', operation: 'payment.charge' }, charge(3)),
    ).rejects.toBeInstanceOf(StepCompensatedError)
    await runIdempotent(db, { key: 's8:charge', operation: 'payment.charge' }, charge(5))
    await runIdempotent(
      db,
      { key: 's8:charge:compensate', operation: 'payment.refund' },
      charge(-5),
      unchanged,
    )
    expect(await charges()).toEqual([{ amount: 5 }, { amount: -5 }])
  })

  it('prunes the keys older than asked', async () => {
    await runIdempotent(db, { key: 'old', operation: 'payment.charge' }, charge(1))
    expect(await pruneIdempotencyKeys(db, 60_000, Date.now())).toBe(0)
    expect(await pruneIdempotencyKeys(db, 60_000, Date.now() + 120_000)).toBe(1)
  })
})

describe('idempotencyKeyOf', () => {
  it.each([
    ['abc:reserve-stock', 'abc:reserve-stock'],
    [['k1', 'k2'], 'k1'],
    ['', undefined],
    ['has space', undefined],
    ['x'.repeat(201), undefined],
    [undefined, undefined],
    [42, undefined],
  ])('%j is %j', (value, key) => {
    expect(idempotencyKeyOf(value)).toBe(key)
  })
})
