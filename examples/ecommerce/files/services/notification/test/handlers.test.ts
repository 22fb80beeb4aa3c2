import { describe, expect, it } from 'vitest'
import { createEnvelope, createLogger } from '@shop/kit'
import { buildApp } from '../src/app.js'
import { loadServiceConfig } from '../src/config.js'
import {
  onOrderCancelled,
  onOrderConfirmed,
  onPaymentFailed,
  onUserRegistered,
} from '../src/events/handlers.js'
import { useTestDatabase } from './database.js'

const database = useTestDatabase()
const setup = () =>
  buildApp({
    config: loadServiceConfig({}),
    logger: createLogger('notification', 'silent'),
    processMetrics: false,
    database: database(),
  })

describe('notifications', () => {
  it('sends one a user can read for each event, once however often it is delivered', async () => {
    const { app, handlerContext: ctx } = setup()
    const registered = { userId: 'u-1', email: 'ada@example.com', name: 'Ada' }
    const welcome = createEnvelope('user.registered', '/test', registered)
    await onUserRegistered(registered, welcome, ctx)
    await onUserRegistered(registered, welcome, ctx)
    const order = { orderId: 'o-1', userId: 'u-1', total: 12.5 }
    await onOrderConfirmed(order, createEnvelope('order.confirmed', '/test', order), ctx)
    await onOrderCancelled(order, createEnvelope('order.cancelled', '/test', order), ctx)
    const failed = { orderId: 'o-1', userId: 'u-1', amount: 12.5, reason: 'declined' }
    await onPaymentFailed(failed, createEnvelope('payment.failed', '/test', failed), ctx)
    const other = { ...registered, userId: 'u-2' }
    await onUserRegistered(other, createEnvelope('user.registered', '/test', other), ctx)

    const sent = (await app.inject('/notifications?user=u-1')).json() as {
      items: { kind: string; message: string }[]
    }
    expect(sent.items.map((n) => [n.kind, n.message])).toEqual([
      ['welcome', 'Welcome, Ada!'],
      ['order-confirmed', 'Your order o-1 is confirmed: 12.50 charged.'],
      ['order-cancelled', 'Your order o-1 was cancelled; nothing is charged for it.'],
      ['payment-failed', 'The payment of 12.50 for order o-1 failed: declined.'],
    ])
    await app.close()
  })
})
