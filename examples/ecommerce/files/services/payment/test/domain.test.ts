import { describe, expect, it } from 'vitest'
import { outbox } from '../src/db/schema.js'
import { PaymentService, providerSettings } from '../src/domain/payment.js'
import { PgPaymentRepository } from '../src/domain/payment.pg.js'
import { useTestDatabase } from './database.js'

const database = useTestDatabase()
const make = (declines = false) => {
  const service = new PaymentService(new PgPaymentRepository(database()))
  service.declines = () => declines
  return service
}
const charge = { orderId: 'o-1', userId: 'u-1', amount: 25 }

describe('PaymentService', () => {
  it('charge captures a payment; refund marks the order captured payments refunded', async () => {
    const service = make()
    const [payment] = await service.charge(charge)
    expect(payment).toMatchObject({ ...charge, state: 'captured' })
    await service.charge({ ...charge, orderId: 'o-2' })
    expect(await service.refund(charge)).toMatchObject([{ id: payment!.id, state: 'refunded' }])
    expect(await service.refund(charge)).toEqual([])
    expect(await service.count({ state: 'captured' })).toEqual({ count: 1, sum: { amount: 25 } })
  })

  it('a declined charge is refused, yet recorded with its payment.failed event', async () => {
    // (outside the operation's transaction, which the refusal rolls back: the Docker journey test
    // checks that part, on PostgreSQL; PGlite has one connection, so a write outside waits forever)
    const service = make(true)
    await expect(service.charge(charge)).rejects.toMatchObject({ name: 'ConflictError' })
    const [declined] = (await service.list({ filter: { state: 'declined' } })).items
    expect(declined).toMatchObject(charge)
    const events = await database().select({ type: outbox.type, payload: outbox.payload }).from(outbox)
    expect(events).toEqual([
      { type: 'payment.failed', payload: { ...charge, reason: `declined (payment ${declined!.id})` } },
    ])
  })

  it('reads the fake provider from the environment, and refuses settings out of range', () => {
    expect(providerSettings({})).toEqual({ failureRate: 0, latencyMs: 0 })
    expect(providerSettings({ PAYMENT_FAILURE_RATE: '0.25', PAYMENT_LATENCY_MS: '40' })).toEqual({
      failureRate: 0.25,
      latencyMs: 40,
    })
    expect(() => providerSettings({ PAYMENT_FAILURE_RATE: '2' })).toThrow(/from 0 to 1/)
    expect(() => providerSettings({ PAYMENT_LATENCY_MS: 'soon' })).toThrow(/0 or more/)
  })
})
