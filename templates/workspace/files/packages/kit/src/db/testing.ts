import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/pglite'
import { migrate } from 'drizzle-orm/pglite/migrator'
import type { Database, DatabaseConnection } from './index.js'

export interface TestDatabase extends DatabaseConnection {
  /** empties every table (and restarts their sequences): a test starts from nothing */
  reset(): Promise<void>
}

/**
 * The service's migrations applied to PostgreSQL running in this process (PGlite, PostgreSQL
 * compiled to WebAssembly): a service's tests need no Docker, and query real PostgreSQL.
 */
export async function openTestDatabase(migrationsFolder: string): Promise<TestDatabase> {
  const client = new PGlite()
  const db = drizzle({ client })
  await migrate(db, { migrationsFolder })
  const tables = await client.query<{ name: string }>(
    "select quote_ident(tablename) as name from pg_tables where schemaname = 'public'",
  )
  const names = tables.rows.map((r) => r.name).join(', ')
  return {
    db: db as unknown as Database,
    ping: async () => {
      await client.query('select 1')
    },
    close: () => client.close(),
    reset: async () => {
      if (names) await db.execute(sql.raw(`truncate ${names} restart identity`))
    },
  }
}
