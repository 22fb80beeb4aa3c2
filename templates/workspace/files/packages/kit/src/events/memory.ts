import { EventValidationError, EventPublishError, type EventPublisher } from './types.js'
import {
  createEnvelope,
  parseNatsUrl,
  validatePayload,
  type EventEnvelope,
  type EventSchema,
} from './envelope.js'
import { nameProducedEvent, startProducerSpan } from './tracing.js'

/**
 * A publisher that keeps events in memory, for tests and for running a service without a broker.
 * It checks payloads as the bus does; `failWith` makes every publish fail as an unreachable broker would.
 */
export class MemoryEventPublisher<P extends object> implements EventPublisher<P> {
  readonly published: EventEnvelope[] = []
  failWith?: string

  constructor(
    private readonly schemas: { [K in keyof P]: EventSchema },
    private readonly source = '/test',
  ) {}

  async publish<K extends keyof P & string>(
    type: K,
    data: P[K],
    opts: { traceparent?: string; id?: string } = {},
  ): Promise<EventEnvelope<P[K]>> {
    const schema = this.schemas[type]
    if (!schema) throw new EventValidationError(type, [`${type} is not an event this service publishes`])
    const problems = validatePayload(schema, data)
    if (problems.length) throw new EventValidationError(type, problems)
    const producer = startProducerSpan(type, type, opts.traceparent)
    const event = createEnvelope(type, this.source, data, opts)
    nameProducedEvent(producer, event)
    if (this.failWith) {
      const error = new EventPublishError(type, event.id, this.failWith)
      producer?.end(error)
      throw error
    }
    this.published.push(event)
    producer?.end()
    return event
  }
}

/** A config field for NATS_URL: nats:// or tls://, host and port, checked at start. */
export function natsUrl(defaultValue: string): {
  expected: string
  default: string
  parse: (raw: string) => string
} {
  return { expected: 'a broker URL such as nats://nats:4222', default: defaultValue, parse: parseNatsUrl }
}
