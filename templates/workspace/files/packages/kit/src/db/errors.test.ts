import { DrizzleQueryError } from 'drizzle-orm/errors'
import { describe, expect, it } from 'vitest'
import { isConnectionError, toStoreError } from './index.js'

const withCode = (message: string, code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra })
const wrapped = (cause: Error) => new DrizzleQueryError('select 1', [], cause)

describe('database errors as the domain names them', () => {
  it('a unique violation is a ConflictError naming the field, through drizzle wrapping', () => {
    const e = wrapped(withCode('duplicate key', '23505', { constraint: 'orders_sku_unique' }))
    const mapped = toStoreError(e, 'order', { orders_sku_unique: 'sku' }) as Error
    expect(mapped).toMatchObject({ name: 'ConflictError', message: 'a order with this sku already exists' })
  })

  it.each([
    [
      'refused (inside an AggregateError)',
      new AggregateError([withCode('connect ECONNREFUSED', 'ECONNREFUSED')]),
    ],
    ['the name gone with its container', withCode('getaddrinfo ENOTFOUND order-db', 'ENOTFOUND')],
    ['shut down by an administrator', wrapped(withCode('terminating connection', '57P01'))],
    ['a connection lost mid-query', wrapped(new Error('Connection terminated unexpectedly'))],
    ['no connection within the timeout', new Error('timeout exceeded when trying to connect')],
  ])('%s is an UnavailableError (503)', (_what, e) => {
    expect(isConnectionError(e)).toBe(true)
    expect(toStoreError(e, 'order')).toMatchObject({ name: 'UnavailableError' })
  })

  it('anything else stays as it was (a 500, logged)', () => {
    const e = wrapped(withCode('syntax error', '42601'))
    expect(toStoreError(e, 'order')).toBe(e)
  })
})
