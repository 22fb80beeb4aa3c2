import { ConflictError, InvalidInputError } from '../errors.js'

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

/**
 * What a generated operation runs its work through when a key comes with it: `idempotentOn(db)`
 * (runIdempotent, in the transaction of the change) for a postgres service, `idempotentIn(store)`
 * (a MemoryIdempotencyStore) otherwise. The answer is the work's, or the first call's for a key
 * seen before.
 */
export type Idempotent = <T>(
  /** undefined for a call without a key: the work runs as one change all the same */
  call: IdempotentCall | undefined,
  work: () => Promise<T>,
  unchanged?: () => Promise<T>,
) => Promise<T>

/**
 * The key a request brings, from its header (HTTP) or metadata (gRPC): undefined without one; a
 * value that is not a key (empty, too long, not printable ASCII) is the caller's mistake, an
 * InvalidInputError (400, INVALID_ARGUMENT) rather than a call run without its key.
 */
export function requestIdempotencyKey(value: unknown): string | undefined {
  const present = Array.isArray(value) ? value.length > 0 : value !== undefined
  if (!present) return undefined
  const key = idempotencyKeyOf(value)
  if (key === undefined)
    throw new InvalidInputError(
      `${IDEMPOTENCY_KEY_HEADER} must be 1 to 200 printable ASCII characters`,
      IDEMPOTENCY_KEY_HEADER,
    )
  return key
}

/**
 * Runs `work` under `key` through `idempotent`; without a key, through it all the same (on
 * postgres, one transaction: the record the work reads is locked until it commits). `unchanged`
 * answers a compensation whose call never arrived here (nothing to undo): the record as it is, or
 * no items; without it, the work runs then too.
 */
export const runKeyed = <T>(
  idempotent: Idempotent,
  key: string | undefined,
  operation: string,
  work: () => Promise<T>,
  unchanged?: () => Promise<T>,
): Promise<T> => idempotent(key === undefined ? undefined : { key, operation }, work, unchanged)

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

/** How a compensation's key ends: `<saga id>:<step>:compensate` undoes `<saga id>:<step>`. */
export const COMPENSATE_SUFFIX = ':compensate'

/**
 * What a key is stored with when a compensation ran before its step's call was ever applied: the
 * operation name no call has, so that the call, should it arrive late (an attempt that timed out
 * on its way, a runner that died with it in flight), is refused instead of applied after its undo.
 */
export const COMPENSATED_MARK = '(compensated)'

/** The key of the call that a compensation's key undoes, or undefined for a key of no compensation. */
export const compensatedKeyOf = (key: string): string | undefined =>
  key.endsWith(COMPENSATE_SUFFIX) && key.length > COMPENSATE_SUFFIX.length
    ? key.slice(0, -COMPENSATE_SUFFIX.length)
    : undefined

/**
 * A saga step's call that arrives after its compensation ran: it is not applied (a ConflictError,
 * 409). Its saga has moved on; only a late attempt gets this.
 */
export class StepCompensatedError extends ConflictError {
  constructor(key: string) {
    super(`the call with idempotency key ${key} was compensated before it arrived; it is not applied`)
  }
}
