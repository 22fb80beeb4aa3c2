import { DrizzleQueryError } from 'drizzle-orm/errors'
import { describe, expect, it } from 'vitest'
import { ConflictError, InvalidInputError, markNotSent, NotFoundError, UnavailableError } from '../errors.js'
import { GrpcCallError } from '../grpc/status.js'
import { UpstreamError } from '../http-client.js'
import { BreakerOpenError } from '../resilience/breaker.js'
import { TimeoutError } from '../resilience/timeout.js'
import { classifyStepError, isUnknownOutcome } from './classify.js'

const withStatus = (statusCode: number) => Object.assign(new Error(`answered ${statusCode}`), { statusCode })
const grpc = (code: number) => new GrpcCallError(code, 'details', 'payment')
const serviceError = (code: number) => Object.assign(new Error('x'), { code, details: 'x', metadata: {} })

describe('classifyStepError: refused (nothing applied) or unknown (maybe applied)', () => {
  it.each([
    ['the step timeout', new TimeoutError(2000), 'timeout'],
    ['DEADLINE_EXCEEDED', grpc(4), 'timeout'],
    ['HTTP 504', withStatus(504), 'timeout'],
    [
      'an UnavailableError wrapping a timeout (ServiceClient)',
      new UnavailableError('x', { cause: new TimeoutError(5) }),
      'timeout',
    ],
    ['UNAVAILABLE', grpc(14), 'unavailable'],
    ['RESOURCE_EXHAUSTED (grpc-js ServiceError)', serviceError(8), 'unavailable'],
    ['HTTP 503', withStatus(503), 'unavailable'],
    ['HTTP 429', withStatus(429), 'unavailable'],
    // an open breaker met after an attempt that was sent: that attempt may have been applied
    ['an open breaker', new BreakerOpenError('payment'), 'unavailable'],
    [
      'a call that never left (a client marked it not sent)',
      markNotSent(new UnavailableError('x', { cause: new BreakerOpenError('payment') })),
      'rejected',
    ],
    ['a cause marked not sent', new Error('step', { cause: markNotSent(grpc(14)) }), 'rejected'],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'unavailable',
    ],
    [
      'the database lost under a local step',
      new DrizzleQueryError('select 1', [], new Error('Connection terminated unexpectedly')),
      'unavailable',
    ],
    ['HTTP 500 (UpstreamError)', new UpstreamError('payment', 500), 'error'],
    ['INTERNAL', grpc(13), 'error'],
    ['a plain error', new Error('boom'), 'error'],
    ['something not an Error', 'boom', 'error'],
    ['HTTP 400', withStatus(400), 'refused'],
    ['HTTP 409', withStatus(409), 'refused'],
    ['InvalidInputError', new InvalidInputError('bad', '/sku'), 'refused'],
    ['NotFoundError', new NotFoundError('no'), 'refused'],
    ['ConflictError', new ConflictError('taken'), 'refused'],
    ['FAILED_PRECONDITION', grpc(9), 'refused'],
    ['INVALID_ARGUMENT', serviceError(3), 'refused'],
    ['ABORTED', grpc(10), 'refused'],
  ])('%s is %s', (_what, error, outcome) => {
    expect(classifyStepError(error)).toBe(outcome)
  })

  it('only ok, refused and rejected are known outcomes', () => {
    expect(
      ['ok', 'refused', 'rejected', 'timeout', 'unavailable', 'error', 'abandoned'].map((o) =>
        isUnknownOutcome(o as never),
      ),
    ).toEqual([false, false, false, true, true, true, true])
  })
})
