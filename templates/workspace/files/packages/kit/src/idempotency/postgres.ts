import { sql } from 'drizzle-orm'
import type { Database, Transaction } from '../db/index.js'
import { inTransaction } from '../db/transaction.js'
import {
  COMPENSATED_MARK,
  compensatedKeyOf,
  IdempotencyKeyReusedError,
  StepCompensatedError,
  type Idempotent,
  type IdempotentCall,
  type IdempotentResult,
} from './types.js'

interface Rows<T> {
  rows: T[]
}

/**
 * Runs `work` once per key, in one transaction with the key and its answer (the
 * `idempotency_keys` table). A key seen before returns its stored answer and runs nothing. Two
 * calls with the same key at once run the work once: the second one's insert of the key waits on
 * the unique key until the first commits, then finds it and reads the answer (or, if the first
 * rolled back, runs the work itself).
 *
 * A compensation's key (`<saga id>:<step>:compensate`) also stores its call's key
 * (`<saga id>:<step>`), when that one is not there yet, as compensated: the call, if it arrives
 * after its undo, is refused with StepCompensatedError and applies nothing. So a compensation run
 * for a call that had not arrived yet stays right whatever happens to that call; and since that
 * call applied nothing, there is nothing to undo: given `unchanged`, the compensation answers with
 * it (the record as it is) instead of running its work, which would undo what was never done.
 *
 * The work joins the transaction: the repository's writes run on it (inTransaction), so the change
 * and the key commit together or not at all. A failed work (a refusal, say) stores nothing, so the
 * same key may be sent again. The answer is stored as JSON: return what the operation answers
 * over the wire.
 */
export function runIdempotent<T>(
  db: Database,
  call: IdempotentCall,
  work: (tx: Transaction) => Promise<T>,
  unchanged?: (tx: Transaction) => Promise<T>,
): Promise<IdempotentResult<T>> {
  return inTransaction(db, async (tx) => {
    const inserted = (await tx.execute(
      sql`insert into idempotency_keys (key, operation) values (${call.key}, ${call.operation}) on conflict (key) do nothing returning key`,
    )) as unknown as Rows<{ key: string }>
    if (inserted.rows.length === 0) {
      const stored = (await tx.execute(
        sql`select operation, answer from idempotency_keys where key = ${call.key}`,
      )) as unknown as Rows<{ operation: string; answer: unknown }>
      const row = stored.rows[0]
      // gone between the two statements: pruned as it was read, which the age of a pruned key rules out
      if (!row) throw new Error(`idempotency key ${call.key} vanished while it was read`)
      if (row.operation === COMPENSATED_MARK) throw new StepCompensatedError(call.key)
      if (row.operation !== call.operation)
        throw new IdempotencyKeyReusedError(call.key, row.operation, call.operation)
      return { answer: row.answer as T, replayed: true }
    }
    // a compensation first fences its call's key: a call still on its way is refused when it comes;
    // one in flight here holds that key until it commits, and the work below then sees its change
    const undone = compensatedKeyOf(call.key)
    let neverApplied = false
    if (undone !== undefined) {
      const fenced = (await tx.execute(
        sql`insert into idempotency_keys (key, operation) values (${undone}, ${COMPENSATED_MARK}) on conflict (key) do nothing returning key`,
      )) as unknown as Rows<{ key: string }>
      neverApplied = fenced.rows.length > 0
    }
    const answer = neverApplied && unchanged ? await unchanged(tx) : await work(tx)
    await tx.execute(
      sql`update idempotency_keys set answer = ${JSON.stringify(answer ?? null)}::jsonb where key = ${call.key}`,
    )
    return { answer, replayed: false }
  })
}

/**
 * Deletes the keys stored longer ago than `olderThanMs` (a saga's retries come within minutes;
 * a day is a safe default); resolves to how many.
 */
export async function pruneIdempotencyKeys(
  db: Database,
  olderThanMs = 86_400_000,
  now = Date.now(),
): Promise<number> {
  const before = new Date(now - olderThanMs).toISOString()
  const result = (await db.execute(
    sql`delete from idempotency_keys where created_at < ${before}::timestamptz`,
  )) as unknown as { rowCount?: number | null; affectedRows?: number }
  return result.rowCount ?? result.affectedRows ?? 0
}

/**
 * runIdempotent over `db`, as a generated postgres service's operations use it; a call without a
 * key runs in a transaction of its own, so that it too reads the record it changes locked.
 */
export const idempotentOn =
  (db: Database): Idempotent =>
  async (call, work, unchanged) =>
    call === undefined
      ? inTransaction(db, () => work())
      : (await runIdempotent(db, call, () => work(), unchanged && (() => unchanged()))).answer
