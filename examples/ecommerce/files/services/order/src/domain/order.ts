import { InvalidInputError } from '@shop/kit'
import { storedEvent } from '@shop/kit/db'
import type { OrderCancelled, OrderConfirmed } from '../events/catalog.js'
import { OrderCrud } from './order.crud.js'
import type {
  AcceptOrderInput,
  CancelOrderInput,
  ConfirmOrderInput,
  Order,
  OrderOperations,
} from './order.model.js'

/** Money in cents, so that 0.1 + 0.2 is 0.3. */
const cents = (amount: number) => Math.round(amount * 100)

/**
 * The order service's logic: the local steps of place-order. Each runs in the saga's own
 * transaction, with its event in the outbox: an order is confirmed or cancelled with its event,
 * never without it.
 */
export class OrderService extends OrderCrud implements OrderOperations {
  /** The saga's first step: an order whose units or total do not add up is refused (and cancelled). */
  async accept(id: string, _input: AcceptOrderInput): Promise<Order> {
    const order = await this.get(id)
    const units = order.items.reduce((n, item) => n + item.quantity, 0)
    const total = order.items.reduce((sum, item) => sum + cents(item.price) * item.quantity, 0)
    if (units !== order.units)
      throw new InvalidInputError(`units is ${order.units}, the items hold ${units}`, '/units')
    if (total !== cents(order.total))
      throw new InvalidInputError(`total is ${order.total}, the items cost ${total / 100}`, '/total')
    return order
  }

  /** The saga's last step: every other step held. */
  async confirm(id: string, _input: ConfirmOrderInput): Promise<Order> {
    const order = await this.get(id)
    if (order.status !== 'pending') return order
    const confirmed: OrderConfirmed = { orderId: order.id, userId: order.userId, total: order.total }
    return this.change(order, { status: 'confirmed' }, [storedEvent('order.confirmed', confirmed)])
  }

  /** The compensation of accept, so the last one: what the order took is given back by then. */
  async cancel(id: string, _input: CancelOrderInput): Promise<Order> {
    const order = await this.get(id)
    if (order.status === 'cancelled') return order
    const cancelled: OrderCancelled = { orderId: order.id, userId: order.userId, total: order.total }
    return this.change(order, { status: 'cancelled' }, [storedEvent('order.cancelled', cancelled)])
  }
}
