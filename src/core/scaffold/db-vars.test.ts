import { describe, expect, it } from 'vitest'
import { uniqueConstraintName } from './db-vars.js'

describe('uniqueConstraintName', () => {
  it('is drizzle-kit’s name, cut to 63 bytes as PostgreSQL cuts it', () => {
    expect(uniqueConstraintName('orders', 'sku')).toBe('orders_sku_unique')
    const long = uniqueConstraintName('stock_positions_of_warehouse_items', 'external_reference_number')
    expect(long).toBe('stock_positions_of_warehouse_items_external_reference_number_un')
    expect(Buffer.byteLength(long)).toBe(63)
  })
})
