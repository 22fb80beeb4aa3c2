import { ConflictError } from '../errors.js'

/** The header (HTTP) and metadata key (gRPC) that carries an idempotency key. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'

/** What a key may be: 1 to 200 printable ASCII characters (a saga's is `<saga id>:<step>`). */
const KEY = /^[\x21-\x7e]{1,200}$/

/**
 * The idempotency key a request carries, when it is one (a header or metadata value as the
 * server library gives it: a string, or a list of them, whose first is taken); else undefined.
 */
export function idempotencyKeyOf(value: unknown): string | undefined {
  const v = Array.isArray(value) ? (value as unknown[])[0] : value
  return typeof v === 'string' && KEY.test(v) ? v : undefined
}

/** One call of an operation with a key: the key, and the operation it was given to. */
export interface IdempotentCall {
  key: string
  /** the operation's name (`inventory.reserve`): a key is never reused for another operation */
  operation: string
}

export interface IdempotentResult<T> {
  /** the work's answer, or the stored answer of the first call with this key (as JSON) */
  answer: T
  /** true when the work did not run: the key had been seen, and its stored answer is returned */
  replayed: boolean
}

/**
 * A key sent again for another operation than the one it was first given to: a bug of the caller.
 * A ConflictError: 409 over HTTP, not retried by a saga (a refusal).
 */
export class IdempotencyKeyReusedError extends ConflictError {
  constructor(key: string, first: string, now: string) {
    super(`idempotency key ${key} was given to ${first}, not ${now}`)
  }
}
