/**
 * A stand-in for a saga's owner, built on the kit's own orchestrator (the sources the workspace
 * template ships). Bundled by esbuild and run as a child process that the saga test SIGKILLs at
 * random moments, while the callee (an HTTP server in the test process) lives on.
 *
 * It runs a SagaOrchestrator on OWNER_URL, prints "ready", then starts `place-order` sagas without
 * pause, WORKER_WRITERS at a time: the order and its saga in one transaction. The saga's steps
 * call CALLEE_URL (`reserve`/`release`, `charge`/`refund`) with the idempotency key, then confirm
 * the order locally. With WORKER_DRAIN=1 it starts nothing: it waits until every saga is final,
 * prints "drained <ms>" (from ready) and exits.
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import type { Database } from '../../templates/workspace/files/packages/kit/src/db/index.js'
import { inTransaction } from '../../templates/workspace/files/packages/kit/src/db/transaction.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'
import {
  defineSaga,
  SagaOrchestrator,
  type StepContext,
} from '../../templates/workspace/files/packages/kit/src/saga/index.js'

interface Order {
  id: string
  total: number
}

const env = process.env
const logger = createLogger('order', env.LOG_LEVEL ?? 'error', undefined)
const pool = new pg.Pool({ connectionString: env.OWNER_URL!, max: 10 })
pool.on('error', () => undefined)
const db = drizzle({ client: pool }) as unknown as Database

/** One call of the callee's operation; a status of 400 or more is thrown with its status. */
const call = (op: string) => async (ctx: StepContext<Order>) => {
  const res = await fetch(`${env.CALLEE_URL}/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey },
    body: JSON.stringify({ sagaId: ctx.sagaId, total: ctx.input.total }),
    signal: ctx.signal,
  })
  const body = (await res.json()) as unknown
  if (res.status >= 400)
    throw Object.assign(new Error(`${op} answered ${res.status}`), { statusCode: res.status })
  return body
}

const placeOrder = defineSaga<Order>({
  name: 'place-order',
  steps: [
    {
      name: 'reserve-stock',
      retries: 2,
      timeoutMs: 1000,
      call: call('reserve'),
      compensate: call('release'),
    },
    { name: 'charge', retries: 2, timeoutMs: 1000, call: call('charge'), compensate: call('refund') },
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

const sagas = new SagaOrchestrator({
  db,
  sagas: [placeOrder],
  logger,
  heartbeatMs: 100,
  staleMs: 1000,
  pollMs: 50,
  maxInFlight: Number(env.WORKER_IN_FLIGHT ?? 64),
  retryPolicy: { stepBaseMs: 20, stepMaxMs: 200, compensationBaseMs: 20, compensationMaxMs: 200 },
})
await sagas.run()
const ready = Date.now()

if (env.WORKER_DRAIN === '1') {
  for (;;) {
    const open = (await db.execute(
      sql`select count(*)::int as n from sagas where finished_at is null`,
    )) as unknown as {
      rows: { n: number }[]
    }
    if (open.rows[0]!.n === 0) break
    await new Promise((r) => setTimeout(r, 20))
  }
  const ms = Date.now() - ready
  await sagas.close()
  await pool.end()
  console.log(`drained ${ms}`)
  process.exit(0)
}

console.log('ready')
const place = async () => {
  for (;;) {
    const order = { id: randomUUID(), total: 1 + Math.floor(Math.random() * 100) }
    await inTransaction(db, async (tx) => {
      await tx.execute(
        sql`insert into orders (id, total, status) values (${order.id}, ${order.total}, 'pending')`,
      )
      await sagas.start(tx, placeOrder, order)
    }).catch(() => undefined)
    await new Promise((r) => setTimeout(r, 2))
  }
}
for (let i = 0; i < Number(env.WORKER_WRITERS ?? 4); i++) void place()
