/**
 * A stand-in for a generated postgres service's write path, built on the kit's own database,
 * outbox and event bus (the sources the workspace template ships). Bundled by esbuild and run as
 * a child process that the outbox test SIGKILLs at random moments.
 *
 * It applies the service's migrations (under the kit's lock), starts the relay, prints "ready",
 * then writes without pause, WORKER_WRITERS at a time: each write is one transaction holding a
 * record of the `stocks` table and its `stock.created` event ({ id } of the record). With
 * WORKER_DRAIN=1 it writes nothing: it waits until the outbox is empty, prints "drained" and exits.
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import {
  openDatabase,
  OutboxRelay,
  writeOutbox,
} from '../../templates/workspace/files/packages/kit/src/db/index.js'
import { EventBus } from '../../templates/workspace/files/packages/kit/src/events/index.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'

const env = process.env
const logger = createLogger('stock', env.LOG_LEVEL ?? 'error', undefined)
const conn = await openDatabase({ url: env.DATABASE_URL!, migrationsFolder: env.MIGRATIONS!, logger })
const bus = new EventBus<{ 'stock.created': { id: string } }>({
  workspace: env.WORKSPACE!,
  service: 'stock',
  url: env.NATS_URL!,
  schemas: { 'stock.created': { id: 'string' } },
  logger,
})
await bus.start()
const relay = new OutboxRelay({
  db: conn.db,
  publish: (e) => bus.publish('stock.created', e.payload as { id: string }, { id: e.id }),
  logger,
  pollMs: 20,
})
relay.start()

if (env.WORKER_DRAIN === '1') {
  for (;;) {
    const left = (await conn.db.execute(
      sql`select count(*)::int as n from outbox where published_at is null`,
    )) as unknown as {
      rows: { n: number }[]
    }
    if (left.rows[0]!.n === 0) break
    relay.notify()
    await new Promise((r) => setTimeout(r, 50))
  }
  await relay.stop()
  await bus.close()
  await conn.close()
  console.log('drained')
  process.exit(0)
}

console.log('ready')
const write = async () => {
  for (;;) {
    const id = randomUUID()
    await conn.db.transaction(async (tx) => {
      await tx.execute(
        sql`insert into stocks (id, name, version, created_at, updated_at) values (${id}, ${id}, 1, now(), now())`,
      )
      await writeOutbox(tx, [{ id: randomUUID(), type: 'stock.created', payload: { id } }])
    })
    relay.notify()
  }
}
await Promise.all(Array.from({ length: Number(env.WORKER_WRITERS ?? 4) }, write))
