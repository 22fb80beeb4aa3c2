import { describe, expect, it } from 'vitest'
import { format } from 'prettier'
import { postgresSpec } from '../../../test/helpers/service-spec.js'
import { toDbVars, uniqueConstraintName } from './db-vars.js'

describe('uniqueConstraintName', () => {
  it('is drizzle-kit’s name, cut to 63 bytes as PostgreSQL cuts it', () => {
    expect(uniqueConstraintName('orders', 'sku')).toBe('orders_sku_unique')
    const long = uniqueConstraintName('stock_positions_of_warehouse_items', 'external_reference_number')
    expect(long).toBe('stock_positions_of_warehouse_items_external_reference_number_un')
    expect(Buffer.byteLength(long)).toBe(63)
  })
})

describe('the table as prettier lays it out', () => {
  it.each([
    [
      'a long enum, required: its object argument broken, not the chain',
      'kind: enum(welcome|order-confirmed|order-cancelled|payment-failed)!',
    ],
    [
      'a long enum with a default: the chain broken',
      'state: enum(welcome|order-confirmed|order-cancelled|payment-failed)=welcome',
    ],
    ['a short enum', 'status: enum(a|b)!'],
    [
      'many long values',
      `kind: enum(${Array.from({ length: 12 }, (_, i) => `value-number-${i}`).join('|')})!`,
    ],
  ])('%s', async (_what, flag) => {
    const spec = postgresSpec('notifications', flag)
    const ts = `${toDbVars(spec, 'notification').entityTableTs}\n`
    const pretty = await format(ts, {
      parser: 'typescript',
      semi: false,
      singleQuote: true,
      printWidth: 110,
      trailingComma: 'all',
    })
    expect(ts).toBe(pretty)
  })
})
