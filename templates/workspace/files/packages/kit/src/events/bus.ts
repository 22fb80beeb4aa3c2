import type { Registry } from 'prom-client'
import { ConfigError } from '../config.js'
import type { HealthRegistry } from '../health.js'
import { BrokerConnection } from './connection.js'
import { EventConsumer } from './consumer.js'
import { parseNatsUrl, type EventEnvelope, type EventSchema } from './envelope.js'
import { createEventMetrics, type EventMetrics } from './metrics.js'
import { publishEvent, type PublishContext } from './publisher.js'
import { MemorySeenIds, type SeenIds } from './seen-ids.js'
import type { EventBusOptions, EventHandler, EventPublisher } from './types.js'

export * from './types.js'

/**
 * The service's event bus on NATS JetStream: one stream per workspace, a durable consumer per
 * (service, event type) shared by the service's replicas, publishes that resolve only after the
 * JetStream ack, redelivery with backoff, a dead-letter subject after `maxDeliveries`, and
 * handlers skipped for ids already handled. Its parts: connection.ts (connect, stream, drain),
 * publisher.ts, consumer.ts (one per event type) and metrics.ts.
 */
export class EventBus<P extends object = Record<string, unknown>> implements EventPublisher<P> {
  private readonly conn: BrokerConnection
  private readonly consumers: EventConsumer[] = []
  private readonly seen: SeenIds
  private connecting?: Promise<void>
  private readonly m: EventMetrics
  private readonly publishing: PublishContext
  readonly stream: string

  constructor(private readonly opts: EventBusOptions<P>) {
    let url: string
    try {
      url = parseNatsUrl(opts.url)
    } catch (e) {
      throw new ConfigError(`NATS_URL: ${(e as Error).message}`)
    }
    this.conn = new BrokerConnection({
      workspace: opts.workspace,
      service: opts.service,
      url,
      logger: opts.logger,
      ...(opts.publishTimeoutMs !== undefined ? { publishTimeoutMs: opts.publishTimeoutMs } : {}),
      ...(opts.retentionMs !== undefined ? { retentionMs: opts.retentionMs } : {}),
    })
    this.stream = this.conn.stream
    this.seen = opts.seenIds ?? new MemorySeenIds()
    this.m = createEventMetrics()
    this.publishing = {
      conn: this.conn,
      metrics: this.m,
      workspace: opts.workspace,
      service: opts.service,
      schemas: opts.schemas as Record<string, EventSchema>,
      ...(opts.publishTimeoutMs !== undefined ? { publishTimeoutMs: opts.publishTimeoutMs } : {}),
    }
    if (opts.health || opts.registry) this.instrument(opts.health, opts.registry)
  }

  /** Makes readiness reflect the broker connection and puts the event metrics in `registry`. */
  instrument(health?: HealthRegistry, registry?: Registry): void {
    health?.addReadinessCheck('nats', async () =>
      this.connected ? { ok: true } : { ok: false, detail: this.conn.lastError },
    )
    if (registry) for (const metric of Object.values(this.m)) registry.registerMetric(metric)
  }

  /** True while connected to the broker (readiness). */
  get connected(): boolean {
    return this.conn.connected
  }

  /**
   * Connects (retrying until it succeeds or close() is called: the broker may start after the
   * service), makes sure the stream exists, and starts the consumers subscribed so far.
   */
  start(): Promise<void> {
    this.connecting ??= (async () => {
      if (!(await this.conn.open())) return
      for (const consumer of this.consumers) await consumer.start()
    })()
    return this.connecting
  }

  /**
   * Publishes one event and resolves once JetStream has stored it. A payload that fails its
   * schema throws EventValidationError at once; a broker that does not ack within
   * publishTimeoutMs (retries included, deduplicated by event id) throws EventPublishError.
   */
  publish<K extends keyof P & string>(
    type: K,
    data: P[K],
    opts: { traceparent?: string; id?: string } = {},
  ): Promise<EventEnvelope<P[K]>> {
    return publishEvent(this.publishing, type, data, opts)
  }

  /** Registers the handler of one event type; consuming begins at start() (or now, if started). */
  subscribe<K extends keyof P & string>(type: K, handler: EventHandler<P[K]>): void {
    if (!this.opts.schemas[type]) throw new Error(`${type} is not an event this service subscribes to`)
    const o = this.opts
    const consumer = new EventConsumer(
      {
        conn: this.conn,
        metrics: this.m,
        seen: this.seen,
        logger: o.logger,
        workspace: o.workspace,
        service: o.service,
        schemas: o.schemas as Record<string, EventSchema>,
        ...(o.ackWaitMs !== undefined ? { ackWaitMs: o.ackWaitMs } : {}),
        ...(o.maxAckPending !== undefined ? { maxAckPending: o.maxAckPending } : {}),
        ...(o.maxDeliveries !== undefined ? { maxDeliveries: o.maxDeliveries } : {}),
        ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
      },
      { type, handler: handler as EventHandler<never> },
    )
    this.consumers.push(consumer)
    if (this.conn.js)
      consumer.start().catch((e: unknown) => o.logger.error({ err: e, type }, 'cannot start the consumer'))
  }

  /**
   * Stops taking new events, lets in-flight handlers finish, then drains the connection
   * (pending publishes and acks are flushed). For SIGTERM.
   */
  async close(): Promise<void> {
    this.conn.stopping = true
    await Promise.all(this.consumers.map((c) => c.stop()))
    // draining needs the broker; without it, close (unacked events are redelivered later)
    await this.conn.drain()
  }
}
