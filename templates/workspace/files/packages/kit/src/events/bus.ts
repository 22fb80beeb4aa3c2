import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Counter, Histogram, type Registry } from 'prom-client'
import { ConfigError } from '../config.js'
import { UnavailableError } from '../errors.js'
import type { HealthRegistry } from '../health.js'
import type { Logger } from '../logger.js'
import {
  redeliveryDelay,
  createEnvelope,
  parseEnvelope,
  parseNatsUrl,
  subjects,
  validatePayload,
  type EventEnvelope,
  type EventSchema,
} from './envelope.js'
import { MemorySeenIds, type SeenIds } from './seen-ids.js'

/** A payload that does not match its schema, caught before it leaves the publisher: a bug, not bad luck. */
export class EventValidationError extends Error {
  override name = 'EventValidationError'
  constructor(
    readonly type: string,
    readonly problems: string[],
  ) {
    super(`event ${type} does not match its schema: ${problems.join('; ')}`)
  }
}

/** A publish that JetStream did not acknowledge within the bound. Maps to HTTP 503 (UnavailableError). */
export class EventPublishError extends UnavailableError {
  constructor(
    readonly type: string,
    readonly eventId: string,
    cause: string,
  ) {
    super(`event ${type} (${eventId}) was not acknowledged by the broker: ${cause}`)
  }
}

/** What a route or a domain service needs to publish: the bus, or MemoryEventPublisher in tests. */
export interface EventPublisher<P extends object> {
  publish<K extends keyof P & string>(
    type: K,
    data: P[K],
    opts?: { traceparent?: string; id?: string },
  ): Promise<EventEnvelope<P[K]>>
}

export type EventHandler<T> = (data: T, event: EventEnvelope<T>) => Promise<void> | void

export interface EventBusOptions<P extends object> {
  /** the workspace name: the stream and every subject are named from it */
  workspace: string
  /** this service: the durable consumers and dead-letter subjects are named from it */
  service: string
  /** NATS_URL: nats://host:4222 (comma-separated for several servers) */
  url: string
  /** msvc.yaml's schemas of the events this service publishes or subscribes to */
  schemas: { [K in keyof P]: EventSchema }
  logger: Logger
  /** where the event metrics go (the service's Metrics.registry) */
  registry?: Registry
  /** readiness reflects the broker connection when given */
  health?: HealthRegistry
  /** longest a publish waits for the JetStream ack, retries included (default 5 s) */
  publishTimeoutMs?: number
  /** deliveries before an event goes to the dead-letter subject (default 5) */
  maxDeliveries?: number
  /** redelivery backoff: doubling from baseMs up to maxMs, with jitter (default 250 ms .. 30 s) */
  backoff?: { baseMs: number; maxMs: number }
  /** how long the broker waits for an ack before redelivering (default 30 s) */
  ackWaitMs?: number
  /** unacknowledged events one consumer may hold (default 1000) */
  maxAckPending?: number
  /** ids of handled events (default: in memory; FileSeenIds survives crashes) */
  seenIds?: SeenIds
  /** how long the stream keeps events (default 7 days) */
  retentionMs?: number
}

/** What a dead-letter message carries: the event (or its raw text), why it failed, and how often. */
export interface DeadLetter {
  event: EventEnvelope | { raw: string }
  error: string
  service: string
  consumer: string
  subject: string
  deliveries: number
  streamSequence: number
  failedAt: string
}

interface Subscription {
  type: string
  handler: EventHandler<never>
  messages?: ConsumerMessages
  loop?: Promise<void>
}

const NS = 1_000_000
const PUBLISH_ATTEMPT_MS = 2000

/**
 * The service's event bus on NATS JetStream: one stream per workspace, a durable consumer per
 * (service, event type) shared by the service's replicas, publishes that resolve only after the
 * JetStream ack, redelivery with backoff, a dead-letter subject after `maxDeliveries`, and
 * handlers skipped for ids already handled.
 */
export class EventBus<P extends object = Record<string, unknown>> implements EventPublisher<P> {
  private nc?: NatsConnection
  private js?: JetStreamClient
  private readonly subs: Subscription[] = []
  private readonly seen: SeenIds
  private stopping = false
  private connecting?: Promise<void>
  private lastError = 'not connected yet'
  private readonly url: string
  private readonly m: ReturnType<typeof createEventMetrics>
  readonly stream: string

  constructor(private readonly opts: EventBusOptions<P>) {
    try {
      this.url = parseNatsUrl(opts.url)
    } catch (e) {
      throw new ConfigError(`NATS_URL: ${(e as Error).message}`)
    }
    this.stream = subjects.stream(opts.workspace)
    this.seen = opts.seenIds ?? new MemorySeenIds()
    this.m = createEventMetrics()
    if (opts.health || opts.registry) this.instrument(opts.health, opts.registry)
  }

  /** Makes readiness reflect the broker connection and puts the event metrics in `registry`. */
  instrument(health?: HealthRegistry, registry?: Registry): void {
    health?.addReadinessCheck('nats', async () =>
      this.connected ? { ok: true } : { ok: false, detail: this.lastError },
    )
    if (registry) for (const metric of Object.values(this.m)) registry.registerMetric(metric)
  }

  /** True while connected to the broker (readiness). */
  get connected(): boolean {
    return this.nc !== undefined && !this.nc.isClosed() && this.lastError === ''
  }

  /**
   * Connects (retrying until it succeeds or close() is called: the broker may start after the
   * service), makes sure the stream exists, and starts the consumers subscribed so far.
   */
  start(): Promise<void> {
    this.connecting ??= this.connectLoop()
    return this.connecting
  }

  private async connectLoop(): Promise<void> {
    const log = this.opts.logger
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        this.nc = await connect({
          servers: this.url.split(','),
          name: this.opts.service,
          timeout: 2000,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 5000,
          // no stack capture per request: it costs more than the publish itself, and our errors
          // carry their own context (type, event id, cause)
          noAsyncTraces: true,
        })
        break
      } catch (e) {
        this.lastError = `cannot reach the broker at ${this.url}: ${(e as Error).message}`
        if (attempt === 1 || attempt % 10 === 0) log.warn({ attempt }, `${this.lastError}; retrying`)
        await sleep(Math.min(5000, 250 * attempt))
      }
    }
    const nc = this.nc
    if (!nc) return
    this.lastError = ''
    void this.watchStatus(nc)
    this.js = jetstream(nc, { timeout: this.opts.publishTimeoutMs ?? 5000 })
    try {
      await this.ensureStream()
    } catch (e) {
      throw new Error(
        `cannot create the stream ${this.stream} on ${this.url} (${(e as Error).message}); is JetStream on (nats-server -js)?`,
      )
    }
    log.info({ url: this.url, stream: this.stream }, 'event bus connected')
    for (const sub of this.subs) await this.startConsumer(sub)
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.lastError = `lost the broker connection (${this.url})`
        this.opts.logger.warn(this.lastError)
      } else if (s.type === 'reconnect') {
        this.lastError = ''
        this.opts.logger.info({ url: this.url }, 'broker connection back')
      }
    }
  }

  private async ensureStream(): Promise<void> {
    const jsm = await jetstreamManager(this.nc!)
    const ws = this.opts.workspace
    try {
      await jsm.streams.add({
        name: this.stream,
        subjects: [subjects.allEvents(ws), subjects.allDeadLetters(ws)],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: (this.opts.retentionMs ?? 7 * 24 * 3600_000) * NS,
        duplicate_window: 120_000 * NS,
      })
    } catch (e) {
      // another service created it first (or with other limits): using it is fine
      await jsm.streams.info(this.stream).catch(() => {
        throw e
      })
    }
  }

  /**
   * Publishes one event and resolves once JetStream has stored it. A payload that fails its
   * schema throws EventValidationError at once; a broker that does not ack within
   * publishTimeoutMs (retries included, deduplicated by event id) throws EventPublishError.
   */
  async publish<K extends keyof P & string>(
    type: K,
    data: P[K],
    opts: { traceparent?: string; id?: string } = {},
  ): Promise<EventEnvelope<P[K]>> {
    const schema = this.opts.schemas[type]
    if (!schema) throw new EventValidationError(type, [`${type} is not an event this service publishes`])
    const problems = validatePayload(schema, data)
    if (problems.length) throw new EventValidationError(type, problems)
    const event = createEnvelope(type, `/${this.opts.workspace}/${this.opts.service}`, data, opts)
    const deadline = Date.now() + (this.opts.publishTimeoutMs ?? 5000)
    const js = this.js
    if (!js || this.stopping) {
      this.m.publishFailed.inc({ type })
      throw new EventPublishError(type, event.id, this.stopping ? 'the bus is closing' : this.lastError)
    }
    const subject = subjects.event(this.opts.workspace, type)
    const body = JSON.stringify(event)
    let cause = ''
    while (Date.now() < deadline) {
      try {
        // short attempts: a request lost with a dying connection is retried once the client has
        // reconnected, rather than waiting out the whole bound (the msg id makes retries safe)
        const timeout = Math.max(100, Math.min(PUBLISH_ATTEMPT_MS, deadline - Date.now()))
        await js.publish(subject, body, { msgID: event.id, timeout })
        this.m.published.inc({ type })
        return event
      } catch (e) {
        cause = (e as Error).message
        await sleep(Math.min(200, Math.max(0, deadline - Date.now())))
      }
    }
    this.m.publishFailed.inc({ type })
    throw new EventPublishError(type, event.id, cause || 'timed out')
  }

  /** Registers the handler of one event type; consuming begins at start() (or now, if started). */
  subscribe<K extends keyof P & string>(type: K, handler: EventHandler<P[K]>): void {
    if (!this.opts.schemas[type]) throw new Error(`${type} is not an event this service subscribes to`)
    const sub: Subscription = { type, handler: handler as EventHandler<never> }
    this.subs.push(sub)
    if (this.js)
      this.startConsumer(sub).catch((e: unknown) =>
        this.opts.logger.error({ err: e, type }, 'cannot start the consumer'),
      )
  }

  private async startConsumer(sub: Subscription): Promise<void> {
    const jsm = await jetstreamManager(this.nc!)
    const durable = subjects.durable(this.opts.service, sub.type)
    try {
      await jsm.consumers.add(this.stream, {
        durable_name: durable,
        filter_subject: subjects.event(this.opts.workspace, sub.type),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: (this.opts.ackWaitMs ?? 30_000) * NS,
        max_deliver: -1,
        max_ack_pending: this.opts.maxAckPending ?? 1000,
      })
    } catch (e) {
      await jsm.consumers.info(this.stream, durable).catch(() => {
        throw e
      })
    }
    const consumer = await this.js!.consumers.get(this.stream, durable)
    // a consumer deleted on the broker ends the loop, and resumeConsumer sets it up again
    sub.messages = await consumer.consume({
      max_messages: Math.min(256, this.opts.maxAckPending ?? 1000),
      abort_on_missing_resource: true,
    })
    const messages = sub.messages
    sub.loop = (async () => {
      for await (const msg of messages) await this.handle(sub, durable, msg)
    })()
      .catch((e: unknown) => this.opts.logger.error({ err: e, type: sub.type }, 'consumer stopped'))
      .then(() => this.resumeConsumer(sub))
  }

  /** A consumer that ended without close() (deleted on the broker, say) is set up again. */
  private async resumeConsumer(sub: Subscription): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      this.opts.logger.warn({ type: sub.type, attempt }, 'consumer ended; starting it again')
      await sleep(Math.min(5000, 500 * attempt))
      if (this.stopping) return
      try {
        return await this.startConsumer(sub)
      } catch (e) {
        this.opts.logger.error({ err: e, type: sub.type }, 'cannot start the consumer')
      }
    }
  }

  private async handle(sub: Subscription, durable: string, msg: JsMsg): Promise<void> {
    const type = sub.type
    if (this.stopping) return msg.nak() // another replica (or this one after restart) takes it now
    const deliveries = msg.info.deliveryCount
    if (deliveries > 1) this.m.redelivered.inc({ type })
    let event: EventEnvelope
    try {
      event = parseEnvelope(msg.data)
    } catch (e) {
      return this.deadLetter(sub, durable, msg, { raw: msg.string() }, (e as Error).message, 'invalid')
    }
    if (this.seen.has(event.id)) {
      this.m.consumed.inc({ type, result: 'duplicate' })
      return msg.ack()
    }
    const problems = validatePayload(this.opts.schemas[type as keyof P], event.data, true)
    if (problems.length)
      return this.deadLetter(sub, durable, msg, event, `invalid payload: ${problems.join('; ')}`, 'invalid')
    const timer = this.m.handlerDuration.startTimer({ type })
    try {
      await sub.handler(event.data as never, event as EventEnvelope<never>)
    } catch (e) {
      timer({ result: 'failed' })
      this.m.consumed.inc({ type, result: 'failed' })
      const error = (e as Error)?.message ?? String(e)
      if (deliveries >= (this.opts.maxDeliveries ?? 5))
        return this.deadLetter(sub, durable, msg, event, error, 'failed')
      const delay = redeliveryDelay(
        deliveries,
        this.opts.backoff?.baseMs ?? 250,
        this.opts.backoff?.maxMs ?? 30_000,
      )
      this.opts.logger.warn(
        { type, id: event.id, deliveries, retryInMs: delay, err: e },
        'event handler failed',
      )
      return msg.nak(delay)
    }
    timer({ result: 'ok' })
    this.seen.add(event.id)
    msg.ack()
    this.m.consumed.inc({ type, result: 'ok' })
  }

  private async deadLetter(
    sub: Subscription,
    durable: string,
    msg: JsMsg,
    event: DeadLetter['event'],
    error: string,
    result: 'invalid' | 'failed',
  ): Promise<void> {
    const type = sub.type
    if (result === 'invalid') this.m.consumed.inc({ type, result })
    const letter: DeadLetter = {
      event,
      error,
      service: this.opts.service,
      consumer: durable,
      subject: msg.subject,
      deliveries: msg.info.deliveryCount,
      streamSequence: msg.seq,
      failedAt: new Date().toISOString(),
    }
    try {
      await this.js!.publish(
        subjects.deadLetter(this.opts.workspace, this.opts.service, type),
        JSON.stringify(letter),
        { msgID: `dlq:${durable}:${msg.seq}` },
      )
    } catch (e) {
      // never drop it: leave it to be redelivered, and dead-lettered then
      this.opts.logger.error({ type, err: e }, 'cannot publish to the dead-letter subject; will retry')
      return msg.nak(1000)
    }
    msg.term(error.slice(0, 200))
    this.m.deadLettered.inc({ type })
    this.opts.logger.error({ type, deliveries: letter.deliveries, error }, 'event dead-lettered')
  }

  /**
   * Stops taking new events, lets in-flight handlers finish, then drains the connection
   * (pending publishes and acks are flushed). For SIGTERM.
   */
  async close(): Promise<void> {
    this.stopping = true
    await Promise.all(this.subs.map((s) => s.messages?.close()))
    await Promise.all(this.subs.map((s) => s.loop))
    const nc = this.nc
    // draining needs the broker; without it, close (unacked events are redelivered later)
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close())
  }
}

function createEventMetrics() {
  const registers: Registry[] = []
  return {
    published: new Counter({
      name: 'events_published_total',
      help: 'Events published and acknowledged by JetStream, by type',
      labelNames: ['type'],
      registers,
    }),
    publishFailed: new Counter({
      name: 'events_publish_failed_total',
      help: 'Publishes that JetStream did not acknowledge in time, by type',
      labelNames: ['type'],
      registers,
    }),
    consumed: new Counter({
      name: 'events_consumed_total',
      help: 'Deliveries handled, by type and result (ok, failed, duplicate, invalid)',
      labelNames: ['type', 'result'],
      registers,
    }),
    redelivered: new Counter({
      name: 'events_redelivered_total',
      help: 'Deliveries that were redeliveries, by type',
      labelNames: ['type'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'events_dead_lettered_total',
      help: 'Events moved to the dead-letter subject, by type',
      labelNames: ['type'],
      registers,
    }),
    handlerDuration: new Histogram({
      name: 'event_handler_duration_seconds',
      help: 'Event handler duration, by type and result',
      labelNames: ['type', 'result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
