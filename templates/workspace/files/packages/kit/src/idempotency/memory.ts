import {
  COMPENSATED_MARK,
  compensatedKeyOf,
  IdempotencyKeyReusedError,
  StepCompensatedError,
  type Idempotent,
  type IdempotentCall,
  type IdempotentResult,
} from './types.js'

interface Entry {
  operation: string
  /** settles when the first call's work does */
  done: Promise<unknown>
  /** the stored answer (JSON), once the work succeeded */
  answer?: unknown
  expiresAt: number
}

export interface MemoryIdempotencyOptions {
  /** keys kept at most; the oldest go first (default 10,000) */
  maxKeys?: number
  /** how long a key is kept (default 24 h) */
  ttlMs?: number
  now?: () => number
}

/**
 * runIdempotent for a service that keeps its records in memory: the keys and answers in a bounded
 * Map with a time to live. As with PostgreSQL, a key seen before returns its stored answer, two
 * calls with one key at once run the work once (the second waits for the first), a failed work
 * stores nothing, a key given to another operation is refused, and a compensation fences its call's
 * key. A restart forgets the keys,
 * as it forgets the records.
 */
export class MemoryIdempotencyStore {
  private readonly entries = new Map<string, Entry>()
  private readonly maxKeys: number
  private readonly ttlMs: number
  private readonly now: () => number

  constructor(opts: MemoryIdempotencyOptions = {}) {
    this.maxKeys = opts.maxKeys ?? 10_000
    this.ttlMs = opts.ttlMs ?? 86_400_000
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.entries.size
  }

  /** `unchanged`: the answer of a compensation whose call never arrived (see runIdempotent). */
  async run<T>(
    call: IdempotentCall,
    work: () => Promise<T>,
    unchanged?: () => Promise<T>,
  ): Promise<IdempotentResult<T>> {
    for (;;) {
      const seen = this.entries.get(call.key)
      if (seen && seen.expiresAt <= this.now()) this.entries.delete(call.key)
      else if (seen) {
        if (seen.operation === COMPENSATED_MARK) throw new StepCompensatedError(call.key)
        if (seen.operation !== call.operation)
          throw new IdempotencyKeyReusedError(call.key, seen.operation, call.operation)
        // the first call is still running: wait for it; if it failed, its entry is gone, try again
        if (!('answer' in seen)) {
          await seen.done.catch(() => undefined)
          continue
        }
        return { answer: seen.answer as T, replayed: true }
      }
      // a compensation fences its call's key, as runIdempotent does, after a call in flight ends
      const undone = compensatedKeyOf(call.key)
      const pending = undone === undefined ? undefined : this.entries.get(undone)
      if (pending && !('answer' in pending)) {
        await pending.done.catch(() => undefined)
        continue
      }
      const neverApplied = undone !== undefined && !pending
      if (neverApplied)
        this.entries.set(undone, {
          operation: COMPENSATED_MARK,
          done: Promise.resolve(),
          answer: null,
          expiresAt: this.now() + this.ttlMs,
        })
      const running = neverApplied && unchanged ? unchanged() : work()
      const entry: Entry = { operation: call.operation, done: running, expiresAt: Infinity }
      this.entries.set(call.key, entry)
      try {
        const answer = await running
        entry.answer = JSON.parse(JSON.stringify(answer ?? null)) as unknown
        entry.expiresAt = this.now() + this.ttlMs
        this.evict()
        return { answer, replayed: false }
      } catch (e) {
        this.entries.delete(call.key)
        throw e
      }
    }
  }

  /** Drops the oldest keys beyond maxKeys, and the expired ones met on the way. */
  private evict(): void {
    const now = this.now()
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxKeys && entry.expiresAt > now) break
      if ('answer' in entry || entry.expiresAt <= now) this.entries.delete(key)
    }
  }
}

/** A MemoryIdempotencyStore's `run`, as a generated service without postgres uses it. */
export const idempotentIn =
  (store: MemoryIdempotencyStore): Idempotent =>
  async (call, work, unchanged) =>
    call === undefined ? work() : (await store.run(call, work, unchanged)).answer
