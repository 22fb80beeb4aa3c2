import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../templates/workspace/files/packages/kit/src/db/index.js'
import { inTransaction } from '../../templates/workspace/files/packages/kit/src/db/transaction.js'
import { ConflictError, UnavailableError } from '../../templates/workspace/files/packages/kit/src/errors.js'
import { runIdempotent } from '../../templates/workspace/files/packages/kit/src/idempotency/postgres.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'
import {
  defineSaga,
  SagaOrchestrator,
  type SagaDefinition,
  type StepContext,
} from '../../templates/workspace/files/packages/kit/src/saga/index.js'
import { SAGA_TABLES_DDL } from '../../templates/workspace/files/packages/kit/src/saga/testing.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'

// Issue #17: the kit's saga runtime against a real PostgreSQL (the postgres image, in Docker), with
// real concurrency between connections: two replicas share the sagas, one dies mid-step, the other
// finishes every saga, and the callee applies each call once whatever was retried or replayed.

const hasDocker = await dockerAvailable()
const logger = createLogger('order', 'silent')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Order {
  id: string
  total: number
}

describe.skipIf(!hasDocker)('sagas on PostgreSQL', () => {
  let port: number
  const container = `msvc-saga-test-${randomUUID().slice(0, 8)}`
  const url = (db: string) => `postgres://postgres:pw@127.0.0.1:${port}/${db}`
  const pools: pg.Pool[] = []
  const open = (db: string, max = 10) => {
    const pool = new pg.Pool({ connectionString: url(db), max })
    pools.push(pool)
    return { pool, db: drizzle({ client: pool }) as unknown as Database }
  }

  beforeAll(async () => {
    port = await freePort()
    await docker([
      'run',
      '-d',
      '--name',
      container,
      '--label',
      'msvc.test=saga',
      '-e',
      'POSTGRES_PASSWORD=pw',
      '-p',
      `127.0.0.1:${port}:5432`,
      'postgres:15',
    ])
    const deadline = Date.now() + 30_000
    for (;;) {
      const c = new pg.Client({ connectionString: url('postgres') })
      try {
        await c.connect()
        for (const db of ['owner', 'callee', 'keys']) await c.query(`create database ${db}`)
        await c.end()
        break
      } catch (e) {
        await c.end().catch(() => undefined)
        if (Date.now() > deadline) throw e
        await sleep(200)
      }
    }
    // the tables as msvc's migrations create them (SAGA_TABLES_DDL is checked equal to those)
    for (const db of ['owner', 'callee', 'keys']) {
      const c = new pg.Client({ connectionString: url(db) })
      await c.connect()
      for (const statement of SAGA_TABLES_DDL) await c.query(statement)
      await c.query('create table orders (id text primary key, total integer not null, status text not null)')
      await c.query(
        'create table ledger (seq serial primary key, key text not null, saga text not null, op text not null, amount integer not null)',
      )
      await c.end()
    }
  }, 90_000)

  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => undefined)
    await docker(['rm', '-f', container]).catch(() => undefined)
  })

  it('two replicas share 200 sagas; one dies mid-step; every saga ends final and each call applies once', async () => {
    const owner = open('owner')
    const callee = open('callee')
    let random = 7
    const rnd = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31

    /**
     * The callee's operation, through runIdempotent as a generated one. A compensation undoes what
     * its step applied, and applies nothing when the step never did (the contract of docs/sagas.md).
     */
    const operation =
      (op: string, amount: (o: Order) => number, undoes?: string) => async (ctx: StepContext<Order>) => {
        const fate = rnd()
        // now and then the call is applied but the answer is lost: an unknown outcome
        const loseAnswer = !undoes && fate < 0.05
        if (!undoes && fate > 0.95 && op === 'charge') throw new ConflictError('card declined')
        const { answer } = await runIdempotent(
          callee.db,
          { key: ctx.idempotencyKey, operation: op },
          async (tx) => {
            if (undoes) {
              const done = (await tx.execute(
                sql`select 1 from ledger where key = ${`${ctx.sagaId}:${undoes}`}`,
              )) as unknown as { rows: unknown[] }
              if (done.rows.length === 0) return { applied: false }
            }
            await tx.execute(
              sql`insert into ledger (key, saga, op, amount) values (${ctx.idempotencyKey}, ${ctx.sagaId}, ${op}, ${amount(ctx.input)})`,
            )
            return { applied: true }
          },
        )
        if (loseAnswer) throw new UnavailableError('the answer was lost')
        return answer
      }

    const definition = (hang: () => boolean, held: (() => void)[]) =>
      defineSaga<Order>({
        name: 'place-order',
        steps: [
          {
            name: 'reserve-stock',
            retries: 2,
            timeoutMs: 2000,
            call: operation('reserve', () => 1),
            compensate: operation('release', () => -1, 'reserve-stock'),
          },
          {
            name: 'charge',
            retries: 2,
            timeoutMs: 2000,
            call: async (ctx) => {
              // a dead replica's calls never answer (until the test lets them, at the end)
              if (hang()) await new Promise<void>((resolve) => held.push(resolve))
              return operation('charge', (o) => o.total)(ctx)
            },
            compensate: operation('refund', (o) => -o.total, 'charge'),
          },
          {
            name: 'confirm',
            local: true,
            call: async (ctx) => {
              await ctx.tx.execute(sql`update orders set status = 'confirmed' where id = ${ctx.input.id}`)
              return { confirmed: true }
            },
          },
        ],
      })

    let frozen: number | undefined = undefined
    let dead = false
    const held: (() => void)[] = []
    const options = {
      logger,
      heartbeatMs: 100,
      staleMs: 1000,
      pollMs: 50,
      maxInFlight: 32,
      retryPolicy: { stepBaseMs: 20, stepMaxMs: 200, compensationBaseMs: 20, compensationMaxMs: 200 },
    }
    // each replica with its own connections
    const aDb = open('owner').db
    const a = new SagaOrchestrator({
      ...options,
      db: aDb,
      sagas: [definition(() => dead, held) as SagaDefinition<never>],
      now: () => frozen ?? Date.now(),
    })
    const b = new SagaOrchestrator({
      ...options,
      db: owner.db,
      sagas: [definition(() => false, []) as SagaDefinition<never>],
    })
    await a.run()
    await b.run()
    try {
      const place = (o: SagaOrchestrator, i: number) =>
        inTransaction(o === a ? aDb : owner.db, async (tx) => {
          const order = { id: `o${i}`, total: 10 + (i % 7) }
          await tx.execute(
            sql`insert into orders (id, total, status) values (${order.id}, ${order.total}, 'pending')`,
          )
          return o.start(tx, 'place-order', order)
        })
      for (let i = 0; i < 100; i += 10)
        await Promise.all(Array.from({ length: 10 }, (_, k) => place((i + k) % 2 ? a : b, i + k)))
      // replica A dies: its clock (and so its heartbeat) stops, and its calls never answer
      frozen = Date.now()
      dead = true
      for (let i = 100; i < 200; i += 10)
        await Promise.all(Array.from({ length: 10 }, (_, k) => place(b, i + k)))

      const deadline = Date.now() + 60_000
      for (;;) {
        const open = await owner.pool.query<{ n: number }>(
          'select count(*)::int as n from sagas where finished_at is null',
        )
        if (open.rows[0]!.n === 0) break
        if (Date.now() > deadline) throw new Error(`${open.rows[0]!.n} sagas still open`)
        await sleep(100)
      }
      // A's calls answer at last: its writes must change nothing
      for (const release of held) release()
      await sleep(500)
    } finally {
      await a.close()
      await b.close()
    }

    const sagas = (
      await owner.pool.query<{ id: string; state: string; input: Order }>(
        'select id, state, input from sagas',
      )
    ).rows
    expect(sagas).toHaveLength(200)
    const states = new Map(sagas.map((s) => [s.id, s.state]))
    expect([...states.values()].every((s) => s === 'completed' || s === 'compensated')).toBe(true)
    expect([...states.values()].filter((s) => s === 'compensated').length).toBeGreaterThan(0)
    const confirmed = new Set(
      (await owner.pool.query<{ id: string }>("select id from orders where status = 'confirmed'")).rows.map(
        (r) => r.id,
      ),
    )
    const ledger = (
      await callee.pool.query<{ key: string; saga: string; op: string; amount: number }>(
        'select * from ledger',
      )
    ).rows
    // each key applied once
    expect(new Set(ledger.map((l) => l.key)).size).toBe(ledger.length)
    for (const s of sagas) {
      const mine = ledger.filter((l) => l.saga === s.id)
      const net = (ops: string[]) => mine.filter((l) => ops.includes(l.op)).reduce((n, l) => n + l.amount, 0)
      if (s.state === 'completed') {
        expect(confirmed.has(s.input.id)).toBe(true)
        expect(mine.map((l) => l.op).sort()).toEqual(['charge', 'reserve'])
      } else {
        // the invariants of the issue: nothing charged nor reserved for an order not confirmed
        expect(confirmed.has(s.input.id)).toBe(false)
        expect(net(['reserve', 'release'])).toBe(0)
        expect(net(['charge', 'refund'])).toBe(0)
      }
    }
    const abandoned = await owner.pool.query<{ n: number }>(
      "select count(*)::int as n from saga_steps where outcome = 'abandoned'",
    )
    expect(abandoned.rows[0]!.n).toBeGreaterThan(0)
    // no attempt left open
    const unended = await owner.pool.query<{ n: number }>(
      'select count(*)::int as n from saga_steps where ended_at is null',
    )
    expect(unended.rows[0]!.n).toBe(0)
  }, 120_000)

  it('runIdempotent: ten calls with one key at once, on ten connections, run the work once', async () => {
    const keys = open('keys', 10)
    let runs = 0
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        runIdempotent(keys.db, { key: 'saga-1:charge', operation: 'payment.charge' }, async (tx) => {
          runs++
          await tx.execute(
            sql`insert into ledger (key, saga, op, amount) values ('saga-1:charge', 'saga-1', 'charge', 5)`,
          )
          await sleep(100)
          return { charged: 5 }
        }),
      ),
    )
    expect(runs).toBe(1)
    expect(results.filter((r) => r.replayed)).toHaveLength(9)
    expect(results.every((r) => (r.answer as { charged: number }).charged === 5)).toBe(true)
    expect((await keys.pool.query('select 1 from ledger')).rows).toHaveLength(1)
  }, 30_000)
})
