// Consuming one event type: a durable consumer shared by the service's replicas, each delivery
// handled once (seen ids), failures redelivered with backoff, then dead-lettered.
import {
  AckPolicy,
  DeliverPolicy,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream'
import type { Logger } from '../logger.js'
import {
  parseEnvelope,
  redeliveryDelay,
  subjects,
  validatePayload,
  type EventEnvelope,
  type EventSchema,
} from './envelope.js'
import { NS, sleep, type BrokerConnection } from './connection.js'
import type { EventMetrics } from './metrics.js'
import type { SeenIds } from './seen-ids.js'
import { consumeInSpan } from './tracing.js'
import type { DeadLetter, EventHandler } from './types.js'

export interface ConsumerContext {
  conn: BrokerConnection
  metrics: EventMetrics
  seen: SeenIds
  logger: Logger
  workspace: string
  service: string
  schemas: Record<string, EventSchema>
  ackWaitMs?: number
  maxAckPending?: number
  maxDeliveries?: number
  backoff?: { baseMs: number; maxMs: number }
}

export interface Subscription {
  type: string
  handler: EventHandler<never>
  messages?: ConsumerMessages
  loop?: Promise<void>
}

export class EventConsumer {
  constructor(
    private readonly c: ConsumerContext,
    readonly sub: Subscription,
  ) {}

  /** Creates (or finds) the durable consumer and starts handling its deliveries. */
  async start(): Promise<void> {
    const sub = this.sub
    const jsm = await jetstreamManager(this.c.conn.nc!)
    const durable = subjects.durable(this.c.service, sub.type)
    try {
      await jsm.consumers.add(this.c.conn.stream, {
        durable_name: durable,
        filter_subject: subjects.event(this.c.workspace, sub.type),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: (this.c.ackWaitMs ?? 30_000) * NS,
        max_deliver: -1,
        max_ack_pending: this.c.maxAckPending ?? 1000,
      })
    } catch (e) {
      await jsm.consumers.info(this.c.conn.stream, durable).catch(() => {
        throw e
      })
    }
    const consumer = await this.c.conn.js!.consumers.get(this.c.conn.stream, durable)
    // a consumer deleted on the broker ends the loop, and resumeConsumer sets it up again
    sub.messages = await consumer.consume({
      max_messages: Math.min(256, this.c.maxAckPending ?? 1000),
      abort_on_missing_resource: true,
    })
    const messages = sub.messages
    sub.loop = (async () => {
      for await (const msg of messages) await this.handle(durable, msg)
    })()
      .catch((e: unknown) => this.c.logger.error({ err: e, type: sub.type }, 'consumer stopped'))
      .then(() => this.resume())
  }

  /** A consumer that ended without close() (deleted on the broker, say) is set up again. */
  private async resume(): Promise<void> {
    const sub = this.sub
    for (let attempt = 1; !this.c.conn.stopping; attempt++) {
      this.c.logger.warn({ type: sub.type, attempt }, 'consumer ended; starting it again')
      await sleep(Math.min(5000, 500 * attempt))
      if (this.c.conn.stopping) return
      try {
        return await this.start()
      } catch (e) {
        this.c.logger.error({ err: e, type: sub.type }, 'cannot start the consumer')
      }
    }
  }

  private async handle(durable: string, msg: JsMsg): Promise<void> {
    const sub = this.sub
    const type = sub.type
    if (this.c.conn.stopping) return msg.nak() // another replica (or this one after restart) takes it now
    const deliveries = msg.info.deliveryCount
    if (deliveries > 1) this.c.metrics.redelivered.inc({ type })
    let event: EventEnvelope
    try {
      event = parseEnvelope(msg.data)
    } catch (e) {
      return this.deadLetter(durable, msg, { raw: msg.string() }, (e as Error).message, 'invalid')
    }
    if (this.c.seen.has(event.id)) {
      this.c.metrics.consumed.inc({ type, result: 'duplicate' })
      return msg.ack()
    }
    const problems = validatePayload(this.c.schemas[type]!, event.data, true)
    if (problems.length)
      return this.deadLetter(durable, msg, event, `invalid payload: ${problems.join('; ')}`, 'invalid')
    const timer = this.c.metrics.handlerDuration.startTimer({ type })
    try {
      // with tracing on, in a consumer span: a child of the producer's, from the envelope
      await consumeInSpan(event, durable, () =>
        sub.handler(event.data as never, event as EventEnvelope<never>),
      )
    } catch (e) {
      timer({ result: 'failed' })
      this.c.metrics.consumed.inc({ type, result: 'failed' })
      const error = (e as Error)?.message ?? String(e)
      if (deliveries >= (this.c.maxDeliveries ?? 5))
        return this.deadLetter(durable, msg, event, error, 'failed')
      const delay = redeliveryDelay(
        deliveries,
        this.c.backoff?.baseMs ?? 250,
        this.c.backoff?.maxMs ?? 30_000,
      )
      this.c.logger.warn({ type, id: event.id, deliveries, retryInMs: delay, err: e }, 'event handler failed')
      return msg.nak(delay)
    }
    timer({ result: 'ok' })
    this.c.seen.add(event.id)
    msg.ack()
    this.c.metrics.consumed.inc({ type, result: 'ok' })
  }

  private async deadLetter(
    durable: string,
    msg: JsMsg,
    event: DeadLetter['event'],
    error: string,
    result: 'invalid' | 'failed',
  ): Promise<void> {
    const type = this.sub.type
    if (result === 'invalid') this.c.metrics.consumed.inc({ type, result })
    const letter: DeadLetter = {
      event,
      error,
      service: this.c.service,
      consumer: durable,
      subject: msg.subject,
      deliveries: msg.info.deliveryCount,
      streamSequence: msg.seq,
      failedAt: new Date().toISOString(),
    }
    try {
      await this.c.conn.js!.publish(
        subjects.deadLetter(this.c.workspace, this.c.service, type),
        JSON.stringify(letter),
        { msgID: `dlq:${durable}:${msg.seq}` },
      )
    } catch (e) {
      // never drop it: leave it to be redelivered, and dead-lettered then
      this.c.logger.error({ type, err: e }, 'cannot publish to the dead-letter subject; will retry')
      return msg.nak(1000)
    }
    msg.term(error.slice(0, 200))
    this.c.metrics.deadLettered.inc({ type })
    this.c.logger.error({ type, deliveries: letter.deliveries, error }, 'event dead-lettered')
  }

  /** Stops taking deliveries and waits for the handler in flight. */
  async stop(): Promise<void> {
    await this.sub.messages?.close()
    await this.sub.loop
  }
}
