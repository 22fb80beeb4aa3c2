import { randomUUID } from 'node:crypto'
import { getTableColumns, is, Param, Placeholder, sql } from 'drizzle-orm'
import type { PgTable, PgUpdateSetSource } from 'drizzle-orm/pg-core'
import pg from 'pg'
import { EventValidationError } from '../events/types.js'
import type { Logger } from '../logger.js'
import type { Database, Queryable } from './index.js'
import { currentTransaction, toDrizzleSql } from './transaction.js'

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

/** Something drizzle can print: a query builder with placeholders (`sql.placeholder`) for its values. */
export interface PrintableQuery {
  toSQL(): { sql: string; params: unknown[] }
}

/** What a query returns, whichever driver ran it. */
interface Rows {
  rows: unknown[]
}

/**
 * A write and the events it causes as one statement (`WITH change AS (...) INSERT INTO outbox`):
 * atomic as a transaction is, in one round trip instead of four. The text is built once from
 * `change` (an insert or an update whose values are placeholders) and runs as a named statement,
 * so each connection parses and plans it once, as the prepared reads are. For an update, the
 * events are written only when it changed a row; `run` resolves to whether it did. Inside
 * inTransaction (db/transaction.ts) it runs in that transaction.
 */
export class PreparedWrite {
  private readonly change: { sql: string; params: unknown[] }
  /** statement text by the number of events it carries */
  private readonly texts = new Map<number, string>()

  constructor(
    private readonly db: Database,
    /** the statement's name, unique in the service (the table's name and what the write does) */
    private readonly name: string,
    change: PrintableQuery,
  ) {
    // PostgreSQL keeps 63 bytes of a name: longer ones would share a statement
    if (Buffer.byteLength(name) > 50) throw new Error(`statement name "${name}" is longer than 50 bytes`)
    this.change = change.toSQL()
  }

  async run(values: Record<string, unknown>, events: StoredEvent[] = []): Promise<boolean> {
    const params = this.change.params.map((p) => fill(p, values))
    for (const e of events) params.push(e.id, e.type, JSON.stringify(e.payload))
    const text = this.text(events.length)
    // inside inTransaction, on the transaction's connection (unnamed: parsed each time)
    const tx = currentTransaction(this.db)
    const result = tx
      ? ((await tx.execute(toDrizzleSql(text, params))) as unknown as Rows)
      : await runNamed(this.db, `${this.name}_${events.length}`, text, params)
    return result.rows.length > 0
  }

  private text(events: number): string {
    let text = this.texts.get(events)
    if (text) return text
    if (events === 0) text = `${this.change.sql} returning 1`
    else {
      const first = this.change.params.length + 1
      const rows = Array.from({ length: events }, (_, i) => {
        const at = first + i * 3
        return `($${at}::uuid, $${at + 1}::text, $${at + 2}::jsonb)`
      })
      text = `with change as (${this.change.sql} returning 1) insert into outbox (id, type, payload) select e.* from (values ${rows.join(', ')}) as e(id, type, payload) where exists (select 1 from change) returning 1`
    }
    this.texts.set(events, text)
    return text
  }
}

/**
 * A parameter's value: a placeholder bound to a column is encoded as the column encodes (a Date as
 * text, jsonb as JSON), and null stays SQL NULL (drizzle's fillPlaceholders would encode it: a
 * null timestamp throws, a null jsonb becomes JSON null).
 */
function fill(p: unknown, values: Record<string, unknown>): unknown {
  const placeholder = is(p, Param) && is(p.value, Placeholder) ? p.value : is(p, Placeholder) ? p : undefined
  if (!placeholder) return p
  if (!(placeholder.name in values)) throw new Error(`no value for placeholder "${placeholder.name}"`)
  const v = values[placeholder.name]
  if (v === null || v === undefined) return null
  return is(p, Param) ? p.encoder.mapToDriverValue(v) : v
}

/**
 * A placeholder for every column of `table` but those in `skip` (columns the database fills, such
 * as a serial): the values of an insert that PreparedWrite prints once.
 */
export function columnPlaceholders<T extends PgTable>(
  table: T,
  skip: (keyof T['$inferInsert'] & string)[] = [],
): { [K in keyof T['$inferInsert']]: Placeholder<string> } {
  const keys = Object.keys(getTableColumns(table)).filter((key) => !skip.includes(key as never))
  return Object.fromEntries(keys.map((key) => [key, sql.placeholder(key)])) as never
}

/**
 * The same for an update's `set`. drizzle binds a placeholder there to its column as it does in an
 * insert (so a timestamp or a jsonb value is encoded alike), but its types admit them only in inserts.
 */
export const setPlaceholders = <T extends PgTable>(
  table: T,
  skip: (keyof T['$inferInsert'] & string)[] = [],
): PgUpdateSetSource<T> => columnPlaceholders(table, skip) as never

/** node-postgres keeps a named statement per connection; PGlite (tests) parses the text each time. */
async function runNamed(db: Database, name: string, text: string, values: unknown[]): Promise<Rows> {
  const client = (db as { $client?: unknown }).$client
  if (client instanceof pg.Pool) return client.query({ name, text, values })
  if (client && typeof (client as PGliteLike).query === 'function')
    return (client as PGliteLike).query(text, values)
  throw new Error('PreparedWrite needs a database from openDatabase or openTestDatabase')
}

interface PGliteLike {
  query(text: string, values: unknown[]): Promise<Rows>
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
  /**
   * Whether a publish failure is final for that event (default: its payload fails its schema, an
   * EventValidationError). Such an event is kept with its error and never retried; any other
   * failure leaves it to be published again.
   */
  isRefusal?: (err: unknown) => boolean
  /** how long published events stay in the outbox before prune() deletes them (default 1 h) */
  keepPublishedMs?: number
  /** how often the running relay prunes (default every 60 s) */
  pruneEveryMs?: number
}

/**
 * Publishes what the outbox holds, oldest first, and marks it sent. A batch is taken with
 * `FOR UPDATE SKIP LOCKED`, so replicas share the work without publishing the same row twice at
 * once, and each event of it that the broker acknowledged is marked in the same transaction. A
 * crash or a broker error in between leaves events unmarked: they are published again, and their
 * ids make that harmless (JetStream drops a repeated message id; subscribers skip an id they
 * handled). An event the bus refuses for good (its payload fails its schema) is marked with the
 * error and logged, so that it neither blocks those behind it nor vanishes.
 */
export class OutboxRelay {
  private stopped = true
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private pending = false
  private lastPrune = 0

  constructor(private readonly opts: OutboxRelayOptions) {}

  /** Runs until stop(): drains the outbox, then waits for notify() or the poll interval. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.lastPrune = Date.now()
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

  /**
   * Publishes one batch and marks what the broker acknowledged (or refused for good); resolves to
   * the number of events it settled, 0 when nothing is waiting. When an event could not be
   * published for a passing reason, the rest are marked and then the error is thrown.
   */
  async drainOnce(): Promise<number> {
    const limit = this.opts.batch ?? 200
    const isRefusal = this.opts.isRefusal ?? ((e: unknown) => e instanceof EventValidationError)
    const { settled, failure } = await this.opts.db.transaction(async (tx) => {
      const result = (await tx.execute(
        sql`select id, type, payload from outbox where published_at is null and error is null order by seq limit ${limit} for update skip locked`,
      )) as unknown as { rows: StoredEvent[] }
      const events = result.rows
      // async: a publish that throws at once is a failed publish like any other
      const results = await Promise.allSettled(events.map(async (e) => this.opts.publish(e)))
      const sent: string[] = []
      let refused = 0
      let failure: unknown
      for (const [i, r] of results.entries()) {
        const event = events[i]!
        if (r.status === 'fulfilled') sent.push(event.id)
        else if (isRefusal(r.reason)) {
          const error = r.reason instanceof Error ? r.reason.message : String(r.reason)
          this.opts.logger.error(
            { eventId: event.id, type: event.type, error },
            'outbox relay: event refused, kept in the outbox with its error and not published',
          )
          await tx.execute(sql`update outbox set error = ${error} where id = ${event.id}`)
          refused++
        } else failure ??= r.reason
      }
      if (sent.length > 0)
        await tx.execute(
          sql`update outbox set published_at = now() where id in (${sql.join(
            sent.map((id) => sql`${id}`),
            sql`, `,
          )})`,
        )
      return { settled: sent.length + refused, failure }
    })
    if (failure !== undefined) throw failure
    return settled
  }

  /** Deletes events published longer ago than keepPublishedMs; resolves to how many. */
  async prune(): Promise<number> {
    const keepMs = this.opts.keepPublishedMs ?? 3_600_000
    const result = (await this.opts.db.execute(
      sql`delete from outbox where published_at < now() - make_interval(secs => ${keepMs / 1000})`,
    )) as unknown as { rowCount?: number | null; affectedRows?: number }
    return result.rowCount ?? result.affectedRows ?? 0
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
      if (Date.now() - this.lastPrune >= (this.opts.pruneEveryMs ?? 60_000)) {
        this.lastPrune = Date.now()
        await this.prune().catch((err: unknown) =>
          this.opts.logger.warn({ err }, 'outbox relay: pruning published events failed'),
        )
      }
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
