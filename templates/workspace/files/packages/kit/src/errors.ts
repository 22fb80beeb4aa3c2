/** Domain errors the HTTP layer (and later gRPC) maps to status codes. */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
  readonly statusCode = 404
}

export class ConflictError extends Error {
  override name = 'ConflictError'
  readonly statusCode = 409
}

/**
 * A request whose saga was compensated (a step failed; what was done is undone): 409 over HTTP,
 * FAILED_PRECONDITION over gRPC, since the same request fails the same way until its cause (a
 * declined card, no stock) changes.
 */
export class SagaCompensatedError extends ConflictError {
  override name = 'SagaCompensatedError'
  constructor(
    message: string,
    readonly sagaId: string,
    readonly failedStep?: string,
  ) {
    super(message)
  }
}

/**
 * An update against a stale version (optimistic concurrency): 409 over HTTP like any conflict
 * (its name stays ConflictError for that), ABORTED over gRPC.
 */
export class VersionConflictError extends ConflictError {}

/** Bad input found by domain rules after schema validation; `field` is a JSON pointer. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError'
  readonly statusCode = 400
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message)
  }
}

const NOT_SENT = Symbol.for('kit.notSent')

/**
 * Marks `error` as the failure of a call that never left this process on any attempt (its breaker
 * was open, its bulkhead full, its client closed): the callee cannot have applied it. A saga step
 * that failed so is retried, and needs no compensation of its own (saga/classify.ts: `rejected`).
 */
export function markNotSent<E extends Error>(error: E): E {
  Object.defineProperty(error, NOT_SENT, { value: true })
  return error
}

/** Whether `error` was marked by markNotSent. */
export const wasNotSent = (error: unknown): boolean =>
  error instanceof Error && (error as Error & { [NOT_SENT]?: true })[NOT_SENT] === true

/**
 * What is declared but not written yet (a generated operation whose rules are still to write):
 * 501 over HTTP, UNIMPLEMENTED over gRPC, never retried.
 */
export class NotImplementedError extends Error {
  override name = 'NotImplementedError'
  readonly statusCode = 501
}

/** Credentials that do not hold (a wrong password): 401 over HTTP, UNAUTHENTICATED over gRPC. */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError'
  readonly statusCode = 401
}

/** A dependency is not available (an open breaker, a full bulkhead, a timeout upstream). */
export class UnavailableError extends Error {
  override name = 'UnavailableError'
  readonly statusCode = 503
}
