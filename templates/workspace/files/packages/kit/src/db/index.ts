import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import pg from 'pg'
import { ConflictError, InvalidInputError, UnavailableError } from '../errors.js'
import { isConnectionError } from './connection-error.js'
import type { HealthRegistry } from '../health.js'
import type { Logger } from '../logger.js'
import { isTracing } from '../tracing.js'
import { traceQueries } from './tracing.js'

/** A service's database, whichever driver is under it (node-postgres, or PGlite in tests). */
export type Database = PgDatabase<PgQueryResultHKT>
/** What `db.transaction` hands its callback: queries inside the transaction. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0]
/** Either: a repository's queries run inside a transaction or on their own. */
export type Queryable = Database | Transaction

export interface DatabaseConnection {
  db: Database
  /** one round trip (`select 1`): readiness asks it */
  ping(): Promise<void>
  close(): Promise<void>
}

/** Any constant: every replica of every service takes the same lock around its migrations. */
const MIGRATION_LOCK = 7_243_911_001

export interface OpenDatabaseOptions {
  url: string
  /** drizzle's migrations folder (meta/_journal.json and the .sql files) */
  migrationsFolder: string
  logger: Logger
  /** how long start waits for the server to accept connections */
  startupTimeoutMs?: number
  poolSize?: number
}

/**
 * Connects to PostgreSQL, waiting up to `startupTimeoutMs` for it, and applies the pending
 * migrations. drizzle's migrate() takes no lock of its own, so it runs holding a session advisory
 * lock on one connection: replicas that start together apply each migration once, the others
 * wait and then find nothing to do.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseConnection> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 2000,
  })
  // A client losing its server (a restarted database) must not crash the process. The pool
  // listens on idle clients only: one lost while checked out between two queries (the outbox
  // relay's transaction while it publishes) would emit an unhandled 'error'. Every client gets a
  // listener of its own; its next query fails, and that caller sees a 503.
  pool.on('connect', (client) =>
    client.on('error', (err) => opts.logger.warn({ err }, 'database connection lost')),
  )
  pool.on('error', () => undefined) // logged by the client's own listener above
  // With tracing on, every query made while serving gets a span (db/tracing.ts explains why the
  // kit wraps the pool's clients instead of using a pg instrumentation).
  if (isTracing()) pool.on('connect', (client) => traceQueries(client))
  const deadline = Date.now() + (opts.startupTimeoutMs ?? 30_000)
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await pool.connect()
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK])
        try {
          await migrate(drizzle({ client }), { migrationsFolder: opts.migrationsFolder })
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK])
        }
      } finally {
        client.release()
      }
      break
    } catch (err) {
      if (!isConnectionError(err) || Date.now() > deadline) {
        await pool.end().catch(() => undefined)
        throw err
      }
      opts.logger.warn({ attempt }, 'database not reachable yet, retrying')
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)))
    }
  }
  opts.logger.info('database migrated')
  return {
    db: drizzle({ client: pool }),
    ping: async () => {
      await pool.query('select 1')
    },
    close: () => pool.end(),
  }
}

/** Readiness includes the database: not ready while `select 1` fails. */
export function addDatabaseReadiness(
  health: HealthRegistry,
  connection: Pick<DatabaseConnection, 'ping'>,
): void {
  health.addReadinessCheck('database', async () => {
    await connection.ping()
    return true
  })
}

/** The driver's error under drizzle's wrapping (DrizzleQueryError), with its SQLSTATE or errno code. */
export function databaseErrorOf(
  e: unknown,
): { code?: string; constraint?: string; message: string } | undefined {
  let cur: unknown = e
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    const c = cur as Error & { code?: unknown; constraint?: string; errors?: unknown[] }
    if (typeof c.code === 'string')
      return { code: c.code, message: c.message, ...(c.constraint ? { constraint: c.constraint } : {}) }
    if (cur instanceof AggregateError) cur = cur.errors[0]
    else cur = c.cause
  }
  return undefined
}

/**
 * Values the schema let through that PostgreSQL cannot hold: a number out of its column's range
 * (22003), a date outside PostgreSQL's (22008) or not one (22007), text with a NUL or an invalid
 * byte (22021, 22P05), a value of the wrong form (22P02), a string too long (22001).
 */
const INPUT_CODES = /^(22003|22008|22007|22021|22P05|22P02|22001)$/

/**
 * A repository's error as the domain names it: a unique violation is a ConflictError naming the
 * field (from `unique`, constraint name to field), a value the column cannot hold an
 * InvalidInputError (400), an unreachable database an UnavailableError; anything else as it was.
 */
export function toStoreError(e: unknown, kind: string, unique: Record<string, string> = {}): unknown {
  const pgError = databaseErrorOf(e)
  if (pgError?.code === '23505') {
    const field = pgError.constraint ? unique[pgError.constraint] : undefined
    return new ConflictError(
      field ? `a ${kind} with this ${field} already exists` : `the ${kind} already exists`,
    )
  }
  if (pgError?.code && INPUT_CODES.test(pgError.code)) {
    return new InvalidInputError(`the ${kind} cannot be stored: ${pgError.message}`, '')
  }
  if (isConnectionError(e)) return new UnavailableError('the database is not available')
  return e
}
export { isConnectionError } from './connection-error.js'
export * from './outbox.js'
export * from './transaction.js'
export { traceQueries, type QueryClient } from './tracing.js'
