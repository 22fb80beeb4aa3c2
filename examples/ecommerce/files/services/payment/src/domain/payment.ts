import { setTimeout as sleep } from 'node:timers/promises'
import { ConflictError } from '@shop/kit'
import { outsideTransaction, storedEvent } from '@shop/kit/db'
import type { PaymentFailed } from '../events/catalog.js'
import { PaymentCrud } from './payment.crud.js'
import type { ChargePaymentsInput, Payment, PaymentOperations, RefundPaymentsInput } from './payment.model.js'

/** The fake provider's behaviour, from the environment: how often it declines, how long it takes. */
export function providerSettings(env: NodeJS.ProcessEnv = process.env) {
  const failureRate = Number(env.PAYMENT_FAILURE_RATE || 0)
  const latencyMs = Number(env.PAYMENT_LATENCY_MS || 0)
  if (!(failureRate >= 0 && failureRate <= 1)) throw new Error('PAYMENT_FAILURE_RATE must be from 0 to 1')
  if (!(latencyMs >= 0)) throw new Error('PAYMENT_LATENCY_MS must be 0 or more')
  return { failureRate, latencyMs }
}

/**
 * The payment service's logic: a charge asks the fake provider, then records a captured payment; a
 * refund marks an order's captured payments refunded.
 */
export class PaymentService extends PaymentCrud implements PaymentOperations {
  /** the provider's answer: true when it declines (tests replace it) */
  declines: () => boolean = () => Math.random() < providerSettings().failureRate

  async charge(input: ChargePaymentsInput): Promise<Payment[]> {
    const { latencyMs } = providerSettings()
    if (latencyMs > 0) await sleep(latencyMs)
    if (this.declines()) {
      // recorded, with its payment.failed event, even though the charge is refused: outside the
      // operation's transaction, which the refusal rolls back
      await outsideTransaction(() =>
        this.create({ ...input, state: 'declined' }, (p) => {
          const failed: PaymentFailed = { ...input, reason: `declined (payment ${p.id})` }
          return [storedEvent('payment.failed', failed)]
        }),
      )
      throw new ConflictError(`payment of ${input.amount} for order ${input.orderId} declined`)
    }
    return [await this.create({ ...input, state: 'captured' })]
  }

  /** The compensation of charge: every captured payment of the order is refunded. */
  async refund(input: RefundPaymentsInput): Promise<Payment[]> {
    const refunded: Payment[] = []
    const filter = { orderId: input.orderId, state: 'captured' as const }
    // each page is read again from the start: a refunded payment leaves the filter
    for (let page = await this.list({ limit: 100, filter }); page.items.length;) {
      for (const p of page.items)
        refunded.push(await this.change(await this.get(p.id), { state: 'refunded' }))
      page = await this.list({ limit: 100, filter })
    }
    return refunded
  }
}
