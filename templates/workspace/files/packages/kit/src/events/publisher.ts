// Publishing: validate the payload, then publish until JetStream acknowledges it or the bound passes.
import {
  createEnvelope,
  subjects,
  validatePayload,
  type EventEnvelope,
  type EventSchema,
} from './envelope.js'
import type { BrokerConnection } from './connection.js'
import { sleep } from './connection.js'
import type { EventMetrics } from './metrics.js'
import { nameProducedEvent, startProducerSpan } from './tracing.js'
import { EventPublishError, EventValidationError } from './types.js'

const PUBLISH_ATTEMPT_MS = 2000

export interface PublishContext {
  conn: BrokerConnection
  metrics: EventMetrics
  workspace: string
  service: string
  schemas: Record<string, EventSchema>
  publishTimeoutMs?: number
}

/**
 * Publishes one event and resolves once JetStream has stored it. A payload that fails its schema
 * throws EventValidationError at once; a broker that does not ack within publishTimeoutMs (retries
 * included, deduplicated by event id) throws EventPublishError.
 */
export async function publishEvent<T>(
  c: PublishContext,
  type: string,
  data: T,
  opts: { traceparent?: string; id?: string } = {},
): Promise<EventEnvelope<T>> {
  const schema = c.schemas[type]
  if (!schema) throw new EventValidationError(type, [`${type} is not an event this service publishes`])
  const problems = validatePayload(schema, data)
  if (problems.length) throw new EventValidationError(type, problems)
  const subject = subjects.event(c.workspace, type)
  const producer = startProducerSpan(type, subject, opts.traceparent)
  const event = createEnvelope(type, `/${c.workspace}/${c.service}`, data, opts)
  nameProducedEvent(producer, event)
  const deadline = Date.now() + (c.publishTimeoutMs ?? 5000)
  const js = c.conn.js
  if (!js || c.conn.stopping) {
    c.metrics.publishFailed.inc({ type })
    const error = new EventPublishError(
      type,
      event.id,
      c.conn.stopping ? 'the bus is closing' : c.conn.lastError,
    )
    producer?.end(error)
    throw error
  }
  const body = JSON.stringify(event)
  let cause = ''
  while (Date.now() < deadline) {
    try {
      // short attempts: a request lost with a dying connection is retried once the client has
      // reconnected, rather than waiting out the whole bound (the msg id makes retries safe)
      const timeout = Math.max(100, Math.min(PUBLISH_ATTEMPT_MS, deadline - Date.now()))
      await js.publish(subject, body, { msgID: event.id, timeout })
      c.metrics.published.inc({ type })
      producer?.end()
      return event
    } catch (e) {
      cause = (e as Error).message
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())))
    }
  }
  c.metrics.publishFailed.inc({ type })
  const error = new EventPublishError(type, event.id, cause || 'timed out')
  producer?.end(error)
  throw error
}
