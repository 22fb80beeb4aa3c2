import { randomUUID } from 'node:crypto'
import { sql, type SQLWrapper } from 'drizzle-orm'
import type { Logger } from '../logger.js'
import type { Database, Queryable } from './index.js'

/** An event stored with the change that caused it, in the same transaction (the `outbox` table). */
export interface StoredEvent {
  /** the event's id: the message id JetStream deduplicates by, and the id subscribers see */
  id: string
  type: string
  payload: unknown
}

/** A new stored event with a fresh id. */
export const storedEvent = (type: string, payload: unknown): StoredEvent => ({
  id: randomUUID(),
  type,
  payload,
})

const eventRows = (events: StoredEvent[]) =>
  sql.join(
    events.map((e) => sql`(${e.id}::uuid, ${e.type}, ${JSON.stringify(e.payload)}::jsonb)`),
    sql`, `,
  )

/**
 * A write and the events it causes in one statement (`WITH change AS (...) INSERT INTO outbox`):
 * atomic as a transaction is, in one round trip instead of four. `change` is an insert or an
 * update of the service's table; for an update, give it `RETURNING`, and the events are written
 * only when it changed a row. Resolves to whether it did.
 */
export async function writeWithEvents(
  db: Queryable,
  change: SQLWrapper,
  events: StoredEvent[],
): Promise<boolean> {
  const result = (await db.execute(
    sql`with change as (${change.getSQL()} returning 1) insert into outbox (id, type, payload) select e.* from (values ${eventRows(events)}) as e(id, type, payload) where exists (select 1 from change) returning 1`,
  )) as unknown as { rows: unknown[] }
  return result.rows.length > 0
}

/** Writes events into the outbox: call it inside the transaction of their change. */
export async function writeOutbox(tx: Queryable, events: StoredEvent[]): Promise<void> {
  if (events.length === 0) return
  const rows = events.map((e) => sql`(${e.id}, ${e.type}, ${JSON.stringify(e.payload)}::jsonb)`)
  await tx.execute(sql`insert into outbox (id, type, payload) values ${sql.join(rows, sql`, `)}`)
}

export interface OutboxRelayOptions {
  db: Database
  /** publishes one event with its id and resolves once the broker has it (the bus's publish) */
  publish: (event: StoredEvent) => Promise<unknown>
  logger: Logger
  /** the longest wait between two looks at the outbox when nothing woke the relay */
  pollMs?: number
  /** events taken per transaction */
  batch?: number
}

/**
 * Publishes what the outbox holds, oldest first, and marks it sent. A batch is taken with
 * `FOR UPDATE SKIP LOCKED`, so replicas share the work without publishing the same row twice at
 * once; it is marked in the same transaction once every event of it is acknowledged. A crash or a
 * broker error in between leaves the batch unmarked: it is published again, and the event ids
 * make that harmless (JetStream drops a repeated message id; subscribers skip an id they handled).
 */
export class OutboxRelay {
  private stopped = true
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private pending = false

  constructor(private readonly opts: OutboxRelayOptions) {}

  /** Runs until stop(): drains the outbox, then waits for notify() or the poll interval. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.loop = this.run()
  }

  /** A change with events has committed: look now rather than at the next poll. */
  notify(): void {
    this.pending = true
    this.wake?.()
  }

  /** Stops taking batches; resolves when the current one is done. */
  async stop(): Promise<void> {
    this.stopped = true
    this.wake?.()
    await this.loop
  }

  /** Publishes one batch and marks it sent; the number of events, 0 when the outbox is empty. */
  async drainOnce(): Promise<number> {
    const limit = this.opts.batch ?? 200
    return this.opts.db.transaction(async (tx) => {
      const result = (await tx.execute(
        sql`select id, type, payload from outbox where published_at is null order by seq limit ${limit} for update skip locked`,
      )) as unknown as { rows: StoredEvent[] }
      const events = result.rows
      if (events.length === 0) return 0
      await Promise.all(events.map((e) => this.opts.publish(e)))
      const ids = sql.join(
        events.map((e) => sql`${e.id}`),
        sql`, `,
      )
      await tx.execute(sql`update outbox set published_at = now() where id in (${ids})`)
      return events.length
    })
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.stopped) {
      this.pending = false
      let sent = 0
      try {
        sent = await this.drainOnce()
        failures = 0
      } catch (err) {
        failures++
        // the broker or the database is away: the events wait in the outbox, nothing is lost
        if (failures === 1 || failures % 20 === 0)
          this.opts.logger.warn({ err, failures }, 'outbox relay: publishing failed, retrying')
      }
      if (this.stopped) break
      if (sent > 0 && failures === 0) continue
      const waitMs = failures ? Math.min(5000, 100 * 2 ** Math.min(failures, 6)) : (this.opts.pollMs ?? 500)
      if (!this.pending || failures) await this.sleep(waitMs)
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }
}
