import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { integer, pgTable, text } from 'drizzle-orm/pg-core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../templates/workspace/files/packages/kit/src/db/index.js'
import {
  columnPlaceholders,
  PreparedWrite,
  storedEvent,
} from '../../templates/workspace/files/packages/kit/src/db/outbox.js'
import { inTransaction } from '../../templates/workspace/files/packages/kit/src/db/transaction.js'
import { ConflictError, UnavailableError } from '../../templates/workspace/files/packages/kit/src/errors.js'
import { runIdempotent } from '../../templates/workspace/files/packages/kit/src/idempotency/postgres.js'
import { StepCompensatedError } from '../../templates/workspace/files/packages/kit/src/idempotency/types.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'
import {
  defineSaga,
  SagaOrchestrator,
  type StepContext,
} from '../../templates/workspace/files/packages/kit/src/saga/index.js'
import { SAGA_TABLES_DDL } from '../../templates/workspace/files/packages/kit/src/saga/testing.js'
import { REPO } from '../helpers/cli.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { makeTempDir } from '../helpers/temp-dir.js'

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
        for (const db of ['owner', 'callee', 'keys', 'crash_owner', 'crash_callee'])
          await c.query(`create database ${db}`)
        await c.end()
        break
      } catch (e) {
        await c.end().catch(() => undefined)
        if (Date.now() > deadline) throw e
        await sleep(200)
      }
    }
    // the tables as msvc's migrations create them (SAGA_TABLES_DDL is checked equal to those)
    for (const db of ['owner', 'callee', 'keys', 'crash_owner', 'crash_callee']) {
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
      sagas: [definition(() => dead, held)],
      now: () => frozen ?? Date.now(),
    })
    const b = new SagaOrchestrator({
      ...options,
      db: owner.db,
      sagas: [definition(() => false, [])],
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

  it('SIGKILLs the owner at random moments under load: every saga ends final, the invariants hold exactly', async () => {
    const owner = open('crash_owner')
    const callee = open('crash_callee')
    const dir = await makeTempDir('msvc-saga-')
    const bundle = join(dir, 'saga-worker.mjs')
    await build({
      entryPoints: [join(REPO, 'test/helpers/saga-worker.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
      external: ['pg-native'],
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    })
    // the callee: lives through the owner's deaths; each operation through runIdempotent, slow
    // enough to be in flight when the owner dies, now and then refusing a charge or losing an answer
    const undoes: Record<string, string> = { release: 'reserve-stock', refund: 'charge' }
    const server: Server = createServer((req, res) => {
      let text = ''
      req.on('data', (b: Buffer) => (text += b.toString()))
      req.on('end', () => {
        const op = req.url!.slice(1)
        const key = String(req.headers['idempotency-key'])
        const { sagaId, total } = JSON.parse(text) as { sagaId: string; total: number }
        const fate = Math.random()
        const answer = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' })
          res.end(JSON.stringify(body))
        }
        if (op === 'charge' && fate < 0.04) return answer(409, { message: 'card declined' })
        const amount = { reserve: 1, release: -1, charge: total, refund: -total }[op]!
        runIdempotent(callee.db, { key, operation: op }, async (tx) => {
          const undone = undoes[op]
          if (undone) {
            const done = (await tx.execute(
              sql`select 1 from ledger where key = ${`${sagaId}:${undone}`}`,
            )) as unknown as { rows: unknown[] }
            if (done.rows.length === 0) return { applied: false }
          }
          await sleep(Math.random() * 30)
          await tx.execute(
            sql`insert into ledger (key, saga, op, amount) values (${key}, ${sagaId}, ${op}, ${amount})`,
          )
          return { applied: true }
        }).then(
          (r) => (!undoes[op] && fate > 0.96 ? answer(503, { message: 'lost' }) : answer(200, r.answer)),
          (e: unknown) => answer(e instanceof StepCompensatedError ? 409 : 500, { message: String(e) }),
        )
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const env = {
      ...process.env,
      OWNER_URL: url('crash_owner'),
      CALLEE_URL: `http://127.0.0.1:${port}`,
    }
    const start = (extra: Record<string, string> = {}) => {
      const proc = spawn(process.execPath, [bundle], {
        env: { ...env, ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      proc.stdout.on('data', (b: Buffer) => (out += b.toString()))
      proc.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)))
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
      const said = (word: string) =>
        new Promise<string>((resolve, reject) => {
          const check = () => {
            const line = out.split('\n').find((l) => l.startsWith(word))
            if (line) resolve(line)
          }
          proc.stdout.on('data', check)
          check()
          void exited.then((code) => reject(new Error(`worker exited ${code}: ${err}`)))
        })
      return { proc, exited, said }
    }
    let drainedIn = 0
    let openAtDrain = 0
    try {
      const ROUNDS = 8
      for (let round = 0; round < ROUNDS; round++) {
        // two replicas at once on even rounds: they share the sagas
        const workers = round % 2 === 0 ? [start(), start()] : [start()]
        await Promise.all(workers.map((w) => w.said('ready')))
        // long enough to start sagas and make calls, short enough to kill many mid-way
        await sleep(800 + Math.floor(Math.random() * 1200))
        for (const w of workers) w.proc.kill('SIGKILL')
        await Promise.all(workers.map((w) => w.exited))
      }
      openAtDrain = (
        await owner.pool.query<{ n: number }>(
          'select count(*)::int as n from sagas where finished_at is null',
        )
      ).rows[0]!.n
      const drain = start({ WORKER_DRAIN: '1' })
      drainedIn = Number((await drain.said('drained')).split(' ')[1])
      expect(await drain.exited).toBe(0)
    } finally {
      server.close()
      await rm(dir, { recursive: true, force: true })
    }

    const sagas = (
      await owner.pool.query<{ id: string; state: string; input: Order }>(
        'select id, state, input from sagas',
      )
    ).rows
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
    const abandoned = (
      await owner.pool.query<{ n: number }>(
        "select count(*)::int as n from saga_steps where outcome = 'abandoned'",
      )
    ).rows[0]!.n
    const byState = (state: string) => sagas.filter((s) => s.state === state).length
    // what a run looks like, for the record (not asserted beyond the invariants)
    console.log(
      `sagas ${sagas.length}: completed ${byState('completed')}, compensated ${byState('compensated')}; ` +
        `${abandoned} attempts abandoned by a killed owner; ${openAtDrain} open after the last kill, ` +
        `all final ${drainedIn} ms after the next owner was ready`,
    )
    expect(sagas.length).toBeGreaterThan(30)
    expect(byState('completed') + byState('compensated')).toBe(sagas.length)
    expect(new Set(ledger.map((l) => l.key)).size).toBe(ledger.length)
    const bySaga = new Map<string, typeof ledger>()
    for (const l of ledger) bySaga.set(l.saga, [...(bySaga.get(l.saga) ?? []), l])
    let reserved = 0
    let charged = 0
    let confirmedTotal = 0
    for (const s of sagas) {
      const mine = bySaga.get(s.id) ?? []
      const net = (ops: string[]) => mine.filter((l) => ops.includes(l.op)).reduce((n, l) => n + l.amount, 0)
      reserved += net(['reserve', 'release'])
      charged += net(['charge', 'refund'])
      if (s.state === 'completed') {
        expect(confirmed.has(s.input.id)).toBe(true)
        expect(mine.map((l) => l.op).sort()).toEqual(['charge', 'reserve'])
        confirmedTotal += s.input.total
      } else {
        expect(confirmed.has(s.input.id)).toBe(false)
        expect(net(['reserve', 'release'])).toBe(0)
        expect(net(['charge', 'refund'])).toBe(0)
      }
    }
    // the issue's invariants: captured payments less refunds are the confirmed orders', and the
    // reserved stock is one unit per confirmed order
    expect(charged).toBe(confirmedTotal)
    expect(reserved).toBe(confirmed.size)
    expect(confirmed.size).toBe(byState('completed'))
  }, 180_000)

  it("a repository's PreparedWrite joins runIdempotent's transaction on node-postgres: both commit or neither", async () => {
    const keys = open('keys', 4)
    await keys.pool.query(`create table items (id text primary key, n integer not null);
      create table outbox (id uuid primary key, seq bigserial, type text not null, payload jsonb not null, created_at timestamptz not null default now(), published_at timestamptz, error text)`)
    const items = pgTable('items', { id: text('id').primaryKey(), n: integer('n').notNull() })
    const insert = new PreparedWrite(
      keys.db,
      'items_insert',
      keys.db.insert(items).values(columnPlaceholders(items)),
    )
    const call = (key: string, fail: boolean) =>
      runIdempotent(keys.db, { key, operation: 'items.add' }, async () => {
        await insert.run({ id: key, n: 1 }, [storedEvent('item.added', { id: key })])
        if (fail) throw new ConflictError('refused after the write')
        return { id: key }
      })
    await call('k1', false)
    await expect(call('k2', true)).rejects.toThrow('refused after the write')
    // outside a transaction the write runs as a named statement on the pool, as before
    await insert.run({ id: 'k3', n: 1 })
    const ids = (await keys.pool.query<{ id: string }>('select id from items order by id')).rows.map(
      (r) => r.id,
    )
    const events = (await keys.pool.query<{ payload: { id: string } }>('select payload from outbox')).rows
    const stored = (
      await keys.pool.query<{ key: string }>("select key from idempotency_keys where key like 'k%'")
    ).rows
    expect(ids).toEqual(['k1', 'k3'])
    expect(events.map((e) => e.payload.id)).toEqual(['k1'])
    expect(stored.map((r) => r.key)).toEqual(['k1'])
  }, 30_000)
})
