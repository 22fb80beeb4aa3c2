import { ConflictError, type EventEnvelope, type Logger } from '@shop/kit'
import type { NotificationService } from '../domain/notification.js'
import type { NewNotification } from '../domain/notification.model.js'
import type { ServicePublisher } from './bus.js'
import type { OrderCancelled, OrderConfirmed, PaymentFailed, UserRegistered } from './catalog.js'

/**
 * What a handler gets besides the event: the service's own parts, the same ones its routes use
 * (main.ts passes them; tests pass in-memory ones).
 */
export interface HandlerContext {
  logger: Logger
  /** the aggregate's domain service: a handler changes state through it, as a route does */
  notificationService: NotificationService
  /** publishes the events this service publishes (the events a handler's work causes) */
  events: ServicePublisher
}

/**
 * "Sends" a notification: records it (GET /notifications?user=<id> lists them). The event's id is
 * unique among them, so an event delivered again (a crash before its ack) is sent once.
 */
async function send(ctx: HandlerContext, eventId: string, note: Omit<NewNotification, 'eventId'>) {
  try {
    await ctx.notificationService.create({ ...note, eventId })
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e
    ctx.logger.info({ eventId }, 'already sent')
  }
}

const money = (amount: number) => amount.toFixed(2)

export async function onUserRegistered(
  data: UserRegistered,
  event: EventEnvelope<UserRegistered>,
  ctx: HandlerContext,
): Promise<void> {
  await send(ctx, event.id, { user: data.userId, kind: 'welcome', message: `Welcome, ${data.name}!` })
}

export async function onOrderConfirmed(
  data: OrderConfirmed,
  event: EventEnvelope<OrderConfirmed>,
  ctx: HandlerContext,
): Promise<void> {
  const message = `Your order ${data.orderId} is confirmed: ${money(data.total)} charged.`
  await send(ctx, event.id, { user: data.userId, kind: 'order-confirmed', message })
}

export async function onOrderCancelled(
  data: OrderCancelled,
  event: EventEnvelope<OrderCancelled>,
  ctx: HandlerContext,
): Promise<void> {
  const message = `Your order ${data.orderId} was cancelled; nothing is charged for it.`
  await send(ctx, event.id, { user: data.userId, kind: 'order-cancelled', message })
}

export async function onPaymentFailed(
  data: PaymentFailed,
  event: EventEnvelope<PaymentFailed>,
  ctx: HandlerContext,
): Promise<void> {
  const message = `The payment of ${money(data.amount)} for order ${data.orderId} failed: ${data.reason}.`
  await send(ctx, event.id, { user: data.userId, kind: 'payment-failed', message })
}
