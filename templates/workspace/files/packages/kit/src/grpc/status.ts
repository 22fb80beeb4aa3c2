import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  NotImplementedError,
  SagaCompensatedError,
  UnauthenticatedError,
  UnavailableError,
  VersionConflictError,
} from '../errors.js'
import { isConnectionError } from '../db/connection-error.js'
import { BreakerOpenError } from '../resilience/breaker.js'
import { BulkheadFullError } from '../resilience/bulkhead.js'
import { TimeoutError } from '../resilience/timeout.js'

export { status as GrpcStatus }

/** Status codes worth another attempt of an idempotent call: the call may not have run, or ran out of time. */
export const RETRYABLE_CODES: ReadonlySet<status> = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED])

/** Codes that say the callee (or the path to it) is unwell: these count against its circuit breaker. */
export const BREAKER_FAILURE_CODES: ReadonlySet<status> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
  status.RESOURCE_EXHAUSTED,
])

/** A gRPC call that ended with a status other than OK. */
export class GrpcCallError extends Error {
  override name = 'GrpcCallError'
  constructor(
    readonly code: status,
    readonly details: string,
    readonly target?: string,
    readonly metadata?: Metadata,
  ) {
    super(`${target ? `${target}: ` : ''}${status[code] ?? code}: ${details}`)
  }
}

/** The name of a status code (`NOT_FOUND`), for metrics and logs. */
export const statusName = (code: number): string => status[code] ?? String(code)

/**
 * Domain errors as gRPC statuses; a `code` already on the error wins; a connection not had is
 * UNAVAILABLE; anything else is INTERNAL.
 */
export function toGrpcStatus(error: unknown): { code: status; details: string } {
  const e = error as { code?: unknown; message?: string }
  const details = e?.message ?? String(error)
  if (error instanceof GrpcCallError) return { code: error.code, details }
  if (error instanceof NotFoundError) return { code: status.NOT_FOUND, details }
  if (error instanceof InvalidInputError) return { code: status.INVALID_ARGUMENT, details }
  if (error instanceof VersionConflictError) return { code: status.ABORTED, details }
  if (error instanceof SagaCompensatedError) return { code: status.FAILED_PRECONDITION, details }
  if (error instanceof ConflictError) return { code: status.ALREADY_EXISTS, details }
  if (
    error instanceof BreakerOpenError ||
    error instanceof BulkheadFullError ||
    error instanceof UnavailableError
  )
    return { code: status.UNAVAILABLE, details }
  if (error instanceof TimeoutError) return { code: status.DEADLINE_EXCEEDED, details }
  if (error instanceof NotImplementedError) return { code: status.UNIMPLEMENTED, details }
  if (error instanceof UnauthenticatedError) return { code: status.UNAUTHENTICATED, details }
  // a connection the work needed was refused, lost or not had in time (server.ts says why)
  if (isConnectionError(error))
    return { code: status.UNAVAILABLE, details: 'a connection was not available: try again' }
  return { code: status.INTERNAL, details: 'internal error' }
}

/** A ServiceError grpc-js sends back to the caller. */
export function toServiceError(code: status, details: string): Partial<ServiceError> {
  return { code, details, message: details, metadata: new Metadata() }
}
