import { AsyncLocalStorage } from 'node:async_hooks'
import { sql, type SQL } from 'drizzle-orm'
import type { Database, Queryable, Transaction } from './index.js'

/** The transaction the code running now is inside of, and what waits for it to commit. */
interface TransactionScope {
  db: Database
  tx: Transaction
  committed: (() => void)[]
}

const scope = new AsyncLocalStorage<TransactionScope>()

/**
 * Runs `fn` in a transaction of `db` that the kit's queries join without being handed it: a
 * PreparedWrite (the repository's writes), runIdempotent, a saga's start, and any query built on
 * `currentQueryable(db)`. Inside another inTransaction of the same `db`, `fn` joins that one.
 * Callbacks given to afterCommit run once the transaction has committed (never on rollback).
 */
export async function inTransaction<T>(db: Database, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const current = scope.getStore()
  if (current?.db === db) return fn(current.tx)
  const committed: (() => void)[] = []
  const result = await db.transaction((tx) => scope.run({ db, tx, committed }, () => fn(tx)))
  for (const callback of committed) callback()
  return result
}

/**
 * Runs `fn` outside any transaction of inTransaction, and so does all it starts: for work that
 * outlives the caller's transaction (a saga's loop woken from inside one must not join it).
 */
export function outsideTransaction<T>(fn: () => T): T {
  return scope.exit(fn)
}

/** The transaction of `db` that inTransaction runs the caller in, if any. */
export function currentTransaction(db: Database): Transaction | undefined {
  const current = scope.getStore()
  return current?.db === db ? current.tx : undefined
}

/** Where a query on `db` runs: the current transaction (inTransaction), else the database itself. */
export function currentQueryable(db: Database): Queryable {
  return currentTransaction(db) ?? db
}

/**
 * Runs `callback` once the current transaction of `db` commits, or now when there is none (what
 * was written has committed already). For what must not run before the data is visible to other
 * connections: waking the outbox relay, running a saga just started.
 */
export function afterCommit(db: Database, callback: () => void): void {
  const current = scope.getStore()
  if (current?.db === db) current.committed.push(callback)
  else callback()
}

/**
 * A statement's text with `$n` parameters as a drizzle query, so that it runs on a transaction
 * (`tx.execute`): the transaction's connection is drizzle's, and only its public API reaches it.
 */
export function toDrizzleSql(text: string, params: unknown[]): SQL {
  const chunks: SQL[] = []
  let at = 0
  for (const m of text.matchAll(/\$(\d+)/g)) {
    chunks.push(sql.raw(text.slice(at, m.index)))
    chunks.push(sql`${params[Number(m[1]) - 1]}`)
    at = m.index + m[0].length
  }
  chunks.push(sql.raw(text.slice(at)))
  return sql.join(chunks)
}
