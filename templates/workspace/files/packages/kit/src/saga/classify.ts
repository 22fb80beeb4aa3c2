import { isConnectionError } from '../db/index.js'
import { wasNotSent } from '../errors.js'
import type { StepOutcome } from './types.js'

/** gRPC status codes by number (the wire's), so that this file needs no gRPC library. */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const

/** A failure's outcome from a gRPC status code: only the codes that say the callee answered no are refusals. */
function fromGrpcCode(code: number): Exclude<StepOutcome, 'ok' | 'abandoned'> {
  if (code === GRPC.DEADLINE_EXCEEDED) return 'timeout'
  if (code === GRPC.UNAVAILABLE || code === GRPC.RESOURCE_EXHAUSTED) return 'unavailable'
  if (code === GRPC.UNKNOWN || code === GRPC.INTERNAL || code === GRPC.DATA_LOSS || code === GRPC.CANCELLED)
    return 'error'
  // INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, ABORTED,
  // OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED: the callee looked and said no
  return 'refused'
}

/** The same from an HTTP status: 4xx is a refusal but for 408 and 429; 5xx may have been applied. */
function fromHttpStatus(status: number): Exclude<StepOutcome, 'ok' | 'abandoned'> {
  if (status === 408 || status === 504) return 'timeout'
  if (status === 429 || status === 502 || status === 503) return 'unavailable'
  if (status >= 500) return 'error'
  return 'refused'
}

const TIMEOUT_NAMES = new Set(['TimeoutError'])
const UNAVAILABLE_NAMES = new Set(['BreakerOpenError', 'BulkheadFullError', 'UnavailableError'])

/** One error's own outcome, when it says; undefined when it does not (a plain Error). */
function ownOutcome(e: Error): Exclude<StepOutcome, 'ok' | 'abandoned'> | undefined {
  if (TIMEOUT_NAMES.has(e.name)) return 'timeout'
  const c = e as Error & { code?: unknown; details?: unknown; statusCode?: unknown; status?: unknown }
  // a gRPC error (grpc-js's ServiceError or the kit's GrpcCallError): a numeric code and details
  if (typeof c.code === 'number' && (typeof c.details === 'string' || e.name === 'GrpcCallError'))
    return fromGrpcCode(c.code)
  const status =
    typeof c.statusCode === 'number' ? c.statusCode : typeof c.status === 'number' ? c.status : undefined
  if (status !== undefined && status >= 400 && status <= 599) return fromHttpStatus(status)
  if (UNAVAILABLE_NAMES.has(e.name)) return 'unavailable'
  if (isConnectionError(e)) return 'unavailable'
  return undefined
}

/**
 * How a failed attempt ended, from what it threw: `refused` when the callee answered no (4xx, or a
 * gRPC code such as INVALID_ARGUMENT or FAILED_PRECONDITION): nothing was applied. Otherwise the
 * outcome is unknown and the call may have been applied: `timeout` (the step's timeout, 408/504,
 * DEADLINE_EXCEEDED), `unavailable` (503, 502, 429, UNAVAILABLE, RESOURCE_EXHAUSTED, an open
 * breaker, a refused connection) or `error` (500, INTERNAL, and anything that does not say).
 * The outermost error decides a refusal; a timeout among its causes names an unknown one. A call
 * that never left this process (markNotSent: an open breaker, a full bulkhead) is `rejected`.
 */
export function classifyStepError(error: unknown): Exclude<StepOutcome, 'ok' | 'abandoned'> {
  const chain: Error[] = []
  for (let cur: unknown = error; cur instanceof Error && chain.length < 5; cur = cur.cause) chain.push(cur)
  // no attempt left this process (the kit's clients mark it): nothing applied, worth retrying
  if (chain.some(wasNotSent)) return 'rejected'
  const outer = chain.map(ownOutcome).find((o) => o !== undefined) ?? 'error'
  if (outer === 'refused' || outer === 'timeout') return outer
  return chain.some((e) => ownOutcome(e) === 'timeout') ? 'timeout' : outer
}

/** Whether an attempt that ended so may have been applied (retried, and compensated at the end). */
export const isUnknownOutcome = (outcome: StepOutcome): boolean =>
  outcome !== 'ok' && outcome !== 'refused' && outcome !== 'rejected'
