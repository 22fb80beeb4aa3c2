import { status } from '@grpc/grpc-js'
import { describe, expect, it } from 'vitest'
import { ConflictError, NotImplementedError, UnauthenticatedError, VersionConflictError } from '../errors.js'
import { toGrpcStatus } from './status.js'

describe('toGrpcStatus', () => {
  it('maps the domain errors to their statuses and hides anything else', () => {
    expect(toGrpcStatus(new UnauthenticatedError('wrong email or password'))).toEqual({
      code: status.UNAUTHENTICATED,
      details: 'wrong email or password',
    })
    expect(toGrpcStatus(new VersionConflictError('stale')).code).toBe(status.ABORTED)
    expect(toGrpcStatus(new ConflictError('taken')).code).toBe(status.ALREADY_EXISTS)
    expect(toGrpcStatus(new NotImplementedError('later')).code).toBe(status.UNIMPLEMENTED)
    expect(toGrpcStatus(new Error('a secret'))).toEqual({ code: status.INTERNAL, details: 'internal error' })
  })

  it('is UNAVAILABLE when a connection was not had (the database pool ran out of time)', () => {
    const e = new Error('query failed', { cause: new Error('timeout exceeded when trying to connect') })
    expect(toGrpcStatus(e)).toEqual({
      code: status.UNAVAILABLE,
      details: 'a connection was not available: try again',
    })
  })
})
