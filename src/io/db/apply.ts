/**
 * `msvc db migrate`: a service's migrations applied from the host, through the database's
 * loopback port, as the service applies them at start (drizzle-orm's migrator, under the same
 * advisory lock as the kit's openDatabase, so a service starting meanwhile waits).
 */
import { UserError } from '../../core/errors.js'

/** The lock the kit takes around migrations (packages/kit/src/db/index.ts): keep them equal. */
export const MIGRATION_LOCK = 7_243_911_001

/** Applies what is pending; resolves to the number of migrations applied. */
export async function applyMigrations(url: string, migrationsFolder: string): Promise<number> {
  const { default: pg } = await import('pg')
  const { drizzle } = await import('drizzle-orm/node-postgres')
  const { migrate } = await import('drizzle-orm/node-postgres/migrator')
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
  } catch (e) {
    throw new UserError(
      `cannot reach the database: ${(e as Error).message}`,
      'is the stack up? start it with msvc up',
    )
  }
  const count = async () => {
    const r = await client
      .query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations')
      .catch(() => ({ rows: [{ n: 0 }] }))
    return r.rows[0]!.n
  }
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      const before = await count()
      await migrate(drizzle({ client }), { migrationsFolder })
      return (await count()) - before
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK])
    }
  } finally {
    await client.end()
  }
}
