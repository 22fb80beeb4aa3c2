import { describe, expect, it } from 'vitest'
import { inTransaction } from '@shop/kit/db'
import { InventoryService } from '../src/domain/inventory.js'
import { PgInventoryRepository } from '../src/domain/inventory.pg.js'
import { useTestDatabase } from './database.js'

const database = useTestDatabase()
const make = () => new InventoryService(new PgInventoryRepository(database()))
const stocked = async (service: InventoryService) => {
  await service.create({ sku: 'MUG-1', stock: 10 })
  await service.create({ sku: 'TEE-1', stock: 2 })
}
const reserved = async (service: InventoryService) =>
  Object.fromEntries((await service.list()).items.map((i) => [i.sku, i.reserved]))

describe('InventoryService', () => {
  it('reserve takes every item of an order; release gives them back', async () => {
    const service = make()
    await stocked(service)
    const items = [
      { sku: 'MUG-1', quantity: 3 },
      { sku: 'TEE-1', quantity: 2 },
    ]
    expect(await service.reserve({ orderId: 'o-1', items })).toHaveLength(2)
    expect(await reserved(service)).toEqual({ 'MUG-1': 3, 'TEE-1': 2 })
    await service.release({ orderId: 'o-1', items })
    expect(await reserved(service)).toEqual({ 'MUG-1': 0, 'TEE-1': 0 })
  })

  it('an order with one item short or unknown reserves none of its items (one transaction)', async () => {
    const service = make()
    await stocked(service)
    for (const short of [
      { sku: 'TEE-1', quantity: 3 },
      { sku: 'HAT-1', quantity: 1 },
    ]) {
      const reserve = inTransaction(database(), () =>
        service.reserve({ orderId: 'o-2', items: [{ sku: 'MUG-1', quantity: 1 }, short] }),
      )
      await expect(reserve).rejects.toMatchObject({ name: 'ConflictError' })
    }
    expect(await reserved(service)).toEqual({ 'MUG-1': 0, 'TEE-1': 0 })
  })
})
