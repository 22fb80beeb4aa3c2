// The bus's public types: its options, errors, handlers and what a dead letter carries.
import type { Registry } from 'prom-client'
import { UnavailableError } from '../errors.js'
import type { HealthRegistry } from '../health.js'
import type { Logger } from '../logger.js'
import type { EventEnvelope, EventSchema } from './envelope.js'
import type { SeenIds } from './seen-ids.js'

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
