import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/pglite'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../db/index.js'
import { currentQueryable, inTransaction } from '../db/transaction.js'
import { ConflictError, markNotSent, UnavailableError } from '../errors.js'
import { runIdempotent } from '../idempotency/postgres.js'
import { createLogger } from '../logger.js'
import { SagaOrchestrator, sagaRunnerId, type SagaOrchestratorOptions } from './orchestrator.js'
import { createSagaTables } from './testing.js'
import {
  defineSaga,
  type AnySagaDefinition,
  type RemoteSagaStep,
  type SagaDefinition,
  type StepContext,
} from './types.js'

// The orchestrator on real PostgreSQL (PGlite, in this process): the owner's database holds the
// sagas and an `orders` table; the callee's (another PGlite) holds a ledger of what its operations
// applied, each through runIdempotent as a generated operation does.

interface Order {
  id: string
  total: number
}

let owner: PGlite
let callee: PGlite
let ownerDb: Database
let calleeDb: Database
const orchestrators: SagaOrchestrator[] = []
const logLines: Record<string, unknown>[] = []
const logger = createLogger('order', 'debug', {
  write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
})

// PGlite takes seconds to start on a busy machine: one of each for the file, emptied before each test
beforeAll(async () => {
  owner = new PGlite()
  callee = new PGlite()
  ownerDb = drizzle({ client: owner }) as unknown as Database
  calleeDb = drizzle({ client: callee }) as unknown as Database
  await createSagaTables(owner)
  await createSagaTables(callee)
  await owner.exec(`create table orders (id text primary key, total integer not null, status text not null)`)
  await callee.exec(
    `create table ledger (seq serial primary key, key text not null, op text not null, amount integer not null)`,
  )
}, 60_000)

afterAll(async () => {
  await owner?.close()
  await callee?.close()
})

beforeEach(async () => {
  await owner.exec('truncate sagas, saga_steps, saga_runners, idempotency_keys, orders')
  await callee.exec('truncate idempotency_keys, ledger')
  logLines.length = 0
})

afterEach(async () => {
  for (const o of orchestrators.splice(0)) await o.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The callee's operation: applies `op` once per key (runIdempotent), answers its ledger row. */
async function apply(ctx: StepContext<Order>, op: string, amount: number, opts: { delayMs?: number } = {}) {
  const { answer } = await runIdempotent(calleeDb, { key: ctx.idempotencyKey, operation: op }, async (tx) => {
    await tx.execute(
      sql`insert into ledger (key, op, amount) values (${ctx.idempotencyKey}, ${op}, ${amount})`,
    )
    if (opts.delayMs) await sleep(opts.delayMs)
    return { op, amount }
  })
  return answer
}

const ledger = async () =>
  (
    await callee.query<{ key: string; op: string; amount: number }>(
      'select key, op, amount from ledger order by seq',
    )
  ).rows

const orderStatus = async (id: string) =>
  (await owner.query<{ status: string }>('select status from orders where id = $1', [id])).rows[0]?.status

function orchestrator(sagas: AnySagaDefinition[], opts: Partial<SagaOrchestratorOptions> = {}) {
  const o = new SagaOrchestrator({
    db: ownerDb,
    sagas,
    logger,
    // short, for the tests' sake, but with room for a machine busy with other work
    heartbeatMs: 100,
    staleMs: 1000,
    pollMs: 50,
    retryPolicy: { stepBaseMs: 10, stepMaxMs: 50, compensationBaseMs: 10, compensationMaxMs: 40 },
    ...opts,
  })
  orchestrators.push(o)
  return o
}

/** The owner's create: the order and its saga in one transaction. */
async function placeOrder(o: SagaOrchestrator, saga: SagaDefinition<Order>, order: Order): Promise<string> {
  return inTransaction(ownerDb, async (tx) => {
    await tx.execute(
      sql`insert into orders (id, total, status) values (${order.id}, ${order.total}, 'pending')`,
    )
    return o.start(tx, saga, order)
  })
}

/** reserve-stock, charge (remote, compensated) and confirm (local: the order's change in the step's transaction). */
function placeOrderSaga(
  overrides: {
    charge?: Partial<SagaDefinition<Order>['steps'][number]>
    confirmFails?: () => boolean
    /** the owner's database the runner was given (ownerDb unless told) */
    db?: Database
  } = {},
) {
  const db = overrides.db ?? ownerDb
  return defineSaga<Order>({
    name: 'place-order',
    steps: [
      {
        name: 'reserve-stock',
        call: (ctx) => apply(ctx, 'reserve', 1),
        compensate: (ctx) => apply(ctx, 'release', -1),
      },
      {
        name: 'charge',
        call: (ctx) => apply(ctx, 'charge', ctx.input.total),
        compensate: (ctx) => apply(ctx, 'refund', -ctx.input.total),
        ...(overrides.charge as object),
      } as SagaDefinition<Order>['steps'][number],
      {
        name: 'confirm',
        local: true,
        call: async (ctx) => {
          // as the owner's repository will: it finds the step's transaction (ctx.tx) by itself
          expect(currentQueryable(db)).toBe(ctx.tx)
          await currentQueryable(db).execute(
            sql`update orders set status = 'confirmed' where id = ${ctx.input.id}`,
          )
          if (overrides.confirmFails?.()) throw new ConflictError('the order was cancelled')
          return { confirmed: true }
        },
      },
    ],
  })
}

describe('SagaOrchestrator (PGlite)', () => {
  it('runs a 3-step saga to completed: outputs, timeline, the local step in its transaction, metrics, logs', async () => {
    const registry = new Registry()
    const saga = placeOrderSaga()
    const o = orchestrator([saga], { registry })
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o1', total: 30 })
    const done = await o.wait(id, 5000)
    expect(done).toMatchObject({ id, name: 'place-order', state: 'completed' })
    expect(done?.outputs).toEqual({
      'reserve-stock': { op: 'reserve', amount: 1 },
      charge: { op: 'charge', amount: 30 },
      confirm: { confirmed: true },
    })
    expect(await orderStatus('o1')).toBe('confirmed')
    expect(await ledger()).toEqual([
      { key: `${id}:reserve-stock`, op: 'reserve', amount: 1 },
      { key: `${id}:charge`, op: 'charge', amount: 30 },
    ])
    const details = await o.get(id)
    expect(details?.finishedAt).toBeDefined()
    expect(details?.timeline.map((a) => [a.step, a.phase, a.attempt, a.outcome])).toEqual([
      ['reserve-stock', 'call', 1, 'ok'],
      ['charge', 'call', 1, 'ok'],
      ['confirm', 'call', 1, 'ok'],
    ])
    expect(
      details?.timeline.every((a) => a.durationMs !== undefined && a.endedAt && a.runner === o.runner),
    ).toBe(true)
    expect(await o.list({ state: 'completed' })).toMatchObject([{ id, state: 'completed' }])
    expect(await o.list({ state: 'stuck' })).toEqual([])

    const metrics = await registry.metrics()
    expect(metrics).toContain('saga_started_total{saga="place-order"} 1')
    expect(metrics).toContain('saga_ended_total{saga="place-order",outcome="completed"} 1')
    expect(metrics).toContain(
      'saga_step_duration_seconds_count{saga="place-order",step="charge",phase="call",outcome="ok"} 1',
    )
    expect(metrics).toContain('saga_stuck{saga="place-order"} 0')
    expect(metrics).toContain('saga_in_flight 0')

    const sagaLines = logLines.filter((l) => String(l.msg).startsWith('saga:'))
    expect(sagaLines.length).toBeGreaterThanOrEqual(4)
    expect(sagaLines.every((l) => l.sagaId === id)).toBe(true)
  })

  it('compensates the completed steps in reverse when a step is refused, and not the refused one', async () => {
    const saga = placeOrderSaga({ confirmFails: () => true })
    const o = orchestrator([saga])
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o2', total: 50 })
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'compensated', failedStep: 'confirm' })
    // the local step's change rolled back with it
    expect(await orderStatus('o2')).toBe('pending')
    expect((await ledger()).map((r) => [r.key.slice(id.length + 1), r.amount])).toEqual([
      ['reserve-stock', 1],
      ['charge', 50],
      ['charge:compensate', -50],
      ['reserve-stock:compensate', -1],
    ])
    const details = await o.get(id)
    expect(details?.error).toBe('confirm: the order was cancelled')
    expect(details?.timeline.map((a) => [a.step, a.phase, a.outcome])).toEqual([
      ['reserve-stock', 'call', 'ok'],
      ['charge', 'call', 'ok'],
      ['confirm', 'call', 'refused'],
      ['charge', 'compensate', 'ok'],
      ['reserve-stock', 'compensate', 'ok'],
    ])
  })

  it('compensates a step whose outcome is unknown once its retries are spent, that step included', async () => {
    const saga = placeOrderSaga({
      charge: {
        retries: 1,
        call: async () => {
          throw new UnavailableError('payment is unavailable')
        },
      },
    })
    const o = orchestrator([saga])
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o3', total: 20 })
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'compensated' })
    const details = await o.get(id)
    expect(details?.timeline.map((a) => [a.step, a.phase, a.attempt, a.outcome])).toEqual([
      ['reserve-stock', 'call', 1, 'ok'],
      ['charge', 'call', 1, 'unavailable'],
      ['charge', 'call', 2, 'unavailable'],
      ['charge', 'compensate', 1, 'ok'],
      ['reserve-stock', 'compensate', 1, 'ok'],
    ])
  })

  it('does not compensate a step whose every attempt was rejected before leaving (an open breaker), unless one was unknown', async () => {
    const notSent = () =>
      markNotSent(new UnavailableError('payment is unavailable: its circuit breaker is open'))
    let attempts = 0
    const rejected = placeOrderSaga({
      charge: {
        retries: 1,
        call: async () => {
          attempts++
          throw notSent()
        },
      },
    })
    const o = orchestrator([rejected])
    await o.run()
    const id = await placeOrder(o, rejected, { id: 'o9', total: 20 })
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'compensated', failedStep: 'charge' })
    expect(attempts).toBe(2)
    expect((await o.get(id))?.timeline.map((a) => [a.step, a.phase, a.attempt, a.outcome])).toEqual([
      ['reserve-stock', 'call', 1, 'ok'],
      ['charge', 'call', 1, 'rejected'],
      ['charge', 'call', 2, 'rejected'],
      ['reserve-stock', 'compensate', 1, 'ok'],
    ])
    await o.close()
    // the first attempt was sent and its answer lost: it may apply, so the charge is refunded
    let tries = 0
    const lost = placeOrderSaga({
      charge: {
        retries: 1,
        call: async () => {
          if (++tries === 1) throw new UnavailableError('payment is unavailable: the connection was reset')
          throw notSent()
        },
      },
    })
    const o2 = orchestrator([lost])
    await o2.run()
    const id2 = await placeOrder(o2, lost, { id: 'o10', total: 20 })
    expect(await o2.wait(id2, 5000)).toMatchObject({ state: 'compensated' })
    expect((await o2.get(id2))?.timeline.map((a) => [a.step, a.phase, a.outcome])).toEqual([
      ['reserve-stock', 'call', 'ok'],
      ['charge', 'call', 'unavailable'],
      ['charge', 'call', 'rejected'],
      ['charge', 'compensate', 'ok'],
      ['reserve-stock', 'compensate', 'ok'],
    ])
    await o2.close()
  })

  it('retries a timed-out step with the same key: the idempotent callee applies it once', async () => {
    let calls = 0
    const saga = placeOrderSaga({
      charge: {
        timeoutMs: 100,
        retries: 2,
        // the first attempt is applied by the callee, but answers after the step's timeout
        call: (ctx: StepContext<Order>) =>
          apply(ctx, 'charge', ctx.input.total, { delayMs: ++calls === 1 ? 300 : 0 }),
      },
    })
    // the second attempt comes after the first one's transaction committed (a backoff of 450 ms)
    const o = orchestrator([saga], {
      retryPolicy: { stepBaseMs: 600, stepMaxMs: 600 },
      random: () => 0.5,
    })
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o4', total: 70 })
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'completed' })
    expect(calls).toBe(2)
    expect((await ledger()).filter((r) => r.op === 'charge')).toEqual([
      { key: `${id}:charge`, op: 'charge', amount: 70 },
    ])
    const charge = (await o.get(id))?.timeline.filter((a) => a.step === 'charge')
    expect(charge?.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'timeout'],
      [2, 'ok'],
    ])
  })

  it('marks a saga stuck when a compensation keeps failing, counts it, and retry() finishes it', async () => {
    const registry = new Registry()
    let inventoryDown = true
    const saga = placeOrderSaga({
      charge: {
        call: async () => {
          throw new ConflictError('card declined')
        },
      },
    })
    // reserve-stock's compensation fails while the inventory is down
    ;(saga.steps[0] as RemoteSagaStep<Order>).compensate = async (ctx) => {
      if (inventoryDown) throw new UnavailableError('inventory is unavailable')
      return apply(ctx, 'release', -1)
    }
    const o = orchestrator([saga], {
      registry,
      retryPolicy: { compensationBaseMs: 5, compensationMaxMs: 20, compensationAttempts: 3 },
    })
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o5', total: 10 })
    await until(async () => (await o.get(id))?.state === 'stuck')
    const stuck = await o.get(id)
    expect(stuck).toMatchObject({
      state: 'stuck',
      step: 'reserve-stock',
      error: 'reserve-stock (compensation): inventory is unavailable',
    })
    expect(stuck?.timeline.filter((a) => a.phase === 'compensate').map((a) => a.outcome)).toEqual([
      'unavailable',
      'unavailable',
      'unavailable',
    ])
    expect(await o.list({ state: 'stuck' })).toMatchObject([{ id }])
    expect(await registry.metrics()).toContain('saga_stuck{saga="place-order"} 1')
    // nobody takes a stuck saga up on their own
    await sleep(200)
    expect((await o.get(id))?.state).toBe('stuck')

    inventoryDown = false
    expect(await o.retry(id)).toBe(true)
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'compensated' })
    expect(await o.retry(id)).toBe(false)
    expect(await registry.metrics()).toContain('saga_stuck{saga="place-order"} 0')
    expect((await ledger()).map((r) => r.op)).toEqual(['reserve', 'release'])
  })

  it('a second runner resumes every saga of a runner killed mid-step; the lost runner cannot overwrite them', async () => {
    // runner A's step 2 hangs; then A "dies": its clock stops, so its heartbeat goes stale
    let frozen: number | undefined = undefined
    const hung: (() => void)[] = []
    const hangingCharge = (ctx: StepContext<Order>) =>
      new Promise<unknown>((resolve) => hung.push(() => resolve(apply(ctx, 'charge', ctx.input.total))))
    const sagaA = placeOrderSaga({ charge: { timeoutMs: 60_000, call: hangingCharge } })
    const a = orchestrator([sagaA], { now: () => frozen ?? Date.now() })
    await a.run()
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push(await placeOrder(a, sagaA, { id: `k${i}`, total: i + 1 }))
    await until(async () => hung.length === 10)
    frozen = Date.now()

    const sagaB = placeOrderSaga()
    const b = orchestrator([sagaB])
    await b.run()
    for (const id of ids)
      expect(await b.wait(id, 5000)).toMatchObject({ state: 'completed', runner: b.runner })

    // A wakes up: its calls answer, but its writes are refused (the sagas are B's)
    for (const release of hung) release()
    await sleep(200)
    for (const id of ids) {
      const details = await b.get(id)
      expect(details).toMatchObject({ state: 'completed', runner: b.runner })
      expect(details?.timeline.map((t) => [t.step, t.outcome, t.runner === a.runner ? 'A' : 'B'])).toEqual([
        ['reserve-stock', 'ok', 'A'],
        ['charge', 'abandoned', 'A'],
        ['charge', 'ok', 'B'],
        ['confirm', 'ok', 'B'],
      ])
    }
    // every call applied once: B's retry of the charge, and A's late one, were replays
    const charges = (await ledger()).filter((r) => r.op === 'charge')
    expect(charges).toHaveLength(10)
    expect(new Set(charges.map((c) => c.key)).size).toBe(10)
    expect(logLines.some((l) => String(l.msg).includes('taken by another runner'))).toBe(true)
  })

  it('a runner started again with the same id takes its sagas back at once, not once its heartbeat is stale', async () => {
    // A's charges hang; A then dies (SIGKILL: it never writes again). Its heartbeat would be stale
    // only after a minute, so B can take the sagas up only because they are held by its own id.
    const hung: unknown[] = []
    const sagaA = placeOrderSaga({
      charge: {
        timeoutMs: 60_000,
        call: (ctx: StepContext<Order>) => new Promise(() => hung.push(ctx.idempotencyKey)),
      },
    })
    const lease = { runner: sagaRunnerId('hostname')!, staleMs: 60_000 }
    expect(lease.runner).toMatch(/^host:./)
    const a = orchestrator([sagaA], lease)
    await a.run()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await placeOrder(a, sagaA, { id: `r${i}`, total: i + 1 }))
    await until(async () => hung.length === 5)

    const b = orchestrator([placeOrderSaga()], lease)
    await b.run()
    for (const id of ids)
      expect(await b.wait(id, 5000)).toMatchObject({ state: 'completed', runner: lease.runner })
    // the setting: none gives a random id at every start; any other value is the id itself
    expect(sagaRunnerId('')).toBeUndefined()
    expect(sagaRunnerId('order-7')).toBe('order-7')
  })

  it('two live runners never call the same step twice: each key is called once, never concurrently', async () => {
    const calls = new Map<string, number>()
    const active = new Set<string>()
    let overlap = 0
    const track = async (ctx: StepContext<Order>) => {
      calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1)
      if (active.has(ctx.idempotencyKey)) overlap++
      active.add(ctx.idempotencyKey)
      await sleep(Math.random() * 5)
      active.delete(ctx.idempotencyKey)
      return { ok: true }
    }
    const saga = defineSaga<Order>({
      name: 'place-order',
      steps: ['one', 'two', 'three'].map((name) => ({ name, call: track, compensate: track })),
    })
    // the lease of the defaults (a runner is gone after 2 s without a heartbeat)
    const live = { maxInFlight: 8, heartbeatMs: 500, staleMs: 2000 }
    const a = orchestrator([saga], live)
    const b = orchestrator([saga], live)
    await a.run()
    await b.run()
    const ids: string[] = []
    for (let i = 0; i < 30; i++) {
      const starter = i % 2 ? a : b
      const id = await placeOrder(starter, saga, { id: `c${i}`, total: 1 })
      // both race to claim every saga
      a.wake(id)
      b.wake(id)
      ids.push(id)
    }
    for (const id of ids) expect(await a.wait(id, 10_000)).toMatchObject({ state: 'completed' })
    expect(calls.size).toBe(90)
    expect([...calls.values()].every((n) => n === 1)).toBe(true)
    expect(overlap).toBe(0)
    const runners = await owner.query<{ runner: string; n: number }>(
      'select runner, count(*)::int as n from saga_steps group by runner order by runner',
    )
    // the work was shared, and every attempt recorded once
    expect(runners.rows.reduce((n, r) => n + r.n, 0)).toBe(90)
  })

  it('a saga woken inside the transaction that starts it runs after the commit, outside that transaction', async () => {
    const saga = placeOrderSaga()
    const o = orchestrator([saga])
    await o.run()
    const id = await inTransaction(ownerDb, async (tx) => {
      await tx.execute(sql`insert into orders (id, total, status) values ('o7', 3, 'pending')`)
      const started = await o.start(tx, saga, { id: 'o7', total: 3 })
      o.wake(started)
      return started
    })
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'completed' })
    expect(await orderStatus('o7')).toBe('confirmed')
  })

  it("drives a new saga from the row it wrote, and records each next attempt's start with the last one's end", async () => {
    // the statements the runner sends outside transactions, counted on a client of its own
    let statements = 0
    const counted = new Proxy(owner, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown
        if (prop === 'query')
          return (...args: Parameters<PGlite['query']>) => {
            statements++
            return target.query(...args)
          }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      },
    })
    const db = drizzle({ client: counted }) as unknown as Database
    const saga = placeOrderSaga({ db })
    // no heartbeat or poll during the saga: what is counted is the saga's own statements
    const o = orchestrator([saga], { db, heartbeatMs: 20_000, staleMs: 60_000, pollMs: 20_000 })
    await o.run()
    // the first poll (a claim, and the pruning of old heartbeats) is under way: let it end
    await sleep(300)
    statements = 0
    // the owner's create in its transaction (whose statements go through the transaction's client)
    const id = await inTransaction(db, async (tx) => {
      await tx.execute(sql`insert into orders (id, total, status) values ('o8', 4, 'pending')`)
      return o.start(tx, saga, { id: 'o8', total: 4 })
    })
    expect(await o.wait(id, 5000)).toMatchObject({ state: 'completed' })
    // the start of reserve-stock, its end with the start of charge, charge's end with the start of
    // confirm (whose end is in its own transaction): no claim, no separate starts
    expect(statements).toBe(3)
    const details = await o.get(id)
    expect(details?.timeline.map((a) => [a.step, a.attempt, a.outcome])).toEqual([
      ['reserve-stock', 1, 'ok'],
      ['charge', 1, 'ok'],
      ['confirm', 1, 'ok'],
    ])
  })

  it("a runner closing between an attempt's end and the next one's call leaves no record of an attempt it did not make", async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((r) => (release = r))
    const saga = placeOrderSaga({
      charge: {
        call: async (ctx: StepContext<Order>) => {
          await held
          return apply(ctx, 'charge', ctx.input.total)
        },
      },
    })
    const o = orchestrator([saga])
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o9', total: 6 })
    await until(async () => (await o.get(id))?.step === 'charge')
    // reserve-stock's end recorded charge's start; charge's end records confirm's, and then the
    // runner is closing: confirm is not called, and its start is taken back
    const closed = o.close()
    release()
    await closed
    const details = await o.get(id)
    expect(details).toMatchObject({ state: 'running', step: 'confirm' })
    expect(details?.timeline.map((a) => [a.step, a.outcome])).toEqual([
      ['reserve-stock', 'ok'],
      ['charge', 'ok'],
    ])
    // another runner finishes it, with no abandoned attempt in its history
    const other = orchestrator([saga])
    await other.run()
    expect(await other.wait(id, 5000)).toMatchObject({ state: 'completed' })
    expect((await other.get(id))?.timeline.map((a) => [a.step, a.outcome])).toEqual([
      ['reserve-stock', 'ok'],
      ['charge', 'ok'],
      ['confirm', 'ok'],
    ])
  })

  it('wait() answers with the saga as it is when the time runs out; close() gives back what it holds', async () => {
    const saga = placeOrderSaga({
      charge: {
        retries: 5,
        call: async () => {
          throw new UnavailableError('payment is unavailable')
        },
      },
    })
    const o = orchestrator([saga], {
      retryPolicy: { stepBaseMs: 10_000, stepMaxMs: 10_000 },
    })
    await o.run()
    const id = await placeOrder(o, saga, { id: 'o6', total: 5 })
    expect(await o.wait(id, 300)).toMatchObject({
      state: 'running',
      step: 'charge',
      attempt: 2,
      runner: o.runner,
    })
    await o.close()
    expect(await o.get(id)).toMatchObject({ state: 'running', step: 'charge' })
    expect((await o.get(id))?.runner).toBeUndefined()
    expect((await owner.query('select * from saga_runners')).rows).toEqual([])
  })
})

/** Polls `check` until it holds (within 5 s). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await sleep(10)
  }
}
