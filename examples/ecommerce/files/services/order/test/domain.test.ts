import { describe, expect, it } from 'vitest'
import { outbox } from '../src/db/schema.js'
import { OrderService } from '../src/domain/order.js'
import { PgOrderRepository } from '../src/domain/order.pg.js'
import type { NewOrder } from '../src/domain/order.model.js'
import { useTestDatabase } from './database.js'

const database = useTestDatabase()
const make = () => new OrderService(new PgOrderRepository(database()))
const events = () => database().select({ type: outbox.type, payload: outbox.payload }).from(outbox)

const order = {
  userId: 'u-1',
  items: [
    { productId: 'p-1', sku: 'MUG-1', quantity: 2, price: 0.1 },
    { productId: 'p-2', sku: 'TEE-1', quantity: 1, price: 0.2 },
  ],
  units: 3,
  total: 0.4,
} satisfies NewOrder

describe('OrderService', () => {
  it('accept takes an order whose units and total add up (in cents: 2 x 0.1 + 0.2 is 0.4)', async () => {
    const service = make()
    const created = await service.create(order)
    expect(await service.accept(created.id, {})).toEqual(created)
  })

  it('accept refuses an order whose units or total do not add up', async () => {
    const service = make()
    for (const [wrong, field] of [
      [{ units: 2 }, '/units'],
      [{ total: 0.5 }, '/total'],
    ] as const) {
      const created = await service.create({ ...order, ...wrong })
      await expect(service.accept(created.id, {})).rejects.toMatchObject({ name: 'InvalidInputError', field })
    }
  })

  it('confirm and cancel change the status once, each with its event', async () => {
    const service = make()
    const kept = await service.create(order)
    const dropped = await service.create(order)
    expect(await service.confirm(kept.id, {})).toMatchObject({ status: 'confirmed', version: 2 })
    expect(await service.confirm(kept.id, {})).toMatchObject({ status: 'confirmed', version: 2 })
    expect(await service.cancel(dropped.id, {})).toMatchObject({ status: 'cancelled', version: 2 })
    expect(await service.cancel(dropped.id, {})).toMatchObject({ status: 'cancelled', version: 2 })
    expect(await events()).toEqual([
      { type: 'order.confirmed', payload: { orderId: kept.id, userId: 'u-1', total: 0.4 } },
      { type: 'order.cancelled', payload: { orderId: dropped.id, userId: 'u-1', total: 0.4 } },
    ])
  })
})
