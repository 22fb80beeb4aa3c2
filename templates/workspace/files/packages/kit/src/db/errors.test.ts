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

  it.each([
    ['an integer beyond bigint', '22003', 'value "100000000000000000000" is out of range for type bigint'],
    ['a date beyond PostgreSQL', '22008', 'date/time field value out of range: "300000-01-01"'],
    ['text with a NUL byte', '22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
  ])('%s is an InvalidInputError (400) with the reason', (_what, code, message) => {
    // wrapped by drizzle (a query builder) or as node-postgres throws it (a prepared write)
    for (const e of [wrapped(withCode(message, code)), withCode(message, code)]) {
      const mapped = toStoreError(e, 'order') as Error
      expect(mapped).toMatchObject({ name: 'InvalidInputError', statusCode: 400 })
      expect(mapped.message).toBe(`the order cannot be stored: ${message}`)
    }
  })

  it('anything else stays as it was (a 500, logged)', () => {
    const e = wrapped(withCode('syntax error', '42601'))
    expect(toStoreError(e, 'order')).toBe(e)
  })
})
