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

/** A dependency is not available (an open breaker, a full bulkhead, a timeout upstream). */
export class UnavailableError extends Error {
  override name = 'UnavailableError'
  readonly statusCode = 503
}
