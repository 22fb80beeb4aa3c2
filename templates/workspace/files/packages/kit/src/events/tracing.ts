// Spans of the event bus: a producer span for each publish, whose context the envelope carries
// as its traceparent, and a consumer span for each handling, a child of that traceparent. The
// trace of the work that published an event goes on in every service that handles it.
import { context, SpanKind, trace, type Span } from '@opentelemetry/api'
import { extractContext, isTracing, isUnsampled, kitTracer, recordError, toTraceparent } from '../tracing.js'
import type { EventEnvelope } from './envelope.js'

// messaging.* names of the semantic conventions (still incubating there, hence spelt out here)
const MESSAGING_SYSTEM = 'messaging.system'
const MESSAGING_OPERATION_TYPE = 'messaging.operation.type'
const MESSAGING_DESTINATION = 'messaging.destination.name'
const MESSAGING_MESSAGE_ID = 'messaging.message.id'
const MESSAGING_CONSUMER_GROUP = 'messaging.consumer.group.name'

/** A publish's producer span and the traceparent its envelope carries. */
export interface ProducerSpan {
  /** none under an unsampled span: the envelope carries that span's context */
  span?: Span
  traceparent: string
  /** ends the span; with an error, marks it failed */
  end(error?: unknown): void
}

/**
 * Starts the producer span of publishing `type` (`publish order.created`), a child of the active
 * span, or of `traceparent` (a caller's) when no span is active. Undefined when tracing is off:
 * the envelope then keeps the trace id of `traceparent` under a new span id, as without tracing.
 * Under an unsampled span, no span is made and the envelope carries that span's context.
 */
export function startProducerSpan(
  type: string,
  destination: string,
  traceparent?: string,
): ProducerSpan | undefined {
  if (!isTracing()) return undefined
  if (isUnsampled()) return { traceparent: toTraceparent(trace.getActiveSpan()!), end: () => undefined }
  const active = context.active()
  const parent = !trace.getSpan(active) && traceparent ? extractContext({ traceparent }) : active
  const span = kitTracer().startSpan(
    `publish ${type}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [MESSAGING_SYSTEM]: 'nats',
        [MESSAGING_OPERATION_TYPE]: 'send',
        [MESSAGING_DESTINATION]: destination,
      },
    },
    parent,
  )
  return {
    span,
    traceparent: toTraceparent(span),
    end: (error?: unknown) => {
      if (error !== undefined) recordError(span, error)
      span.end()
    },
  }
}

/** Sets the event id on a producer span made by startProducerSpan, once the envelope exists. */
export function nameProducedEvent(producer: ProducerSpan | undefined, event: EventEnvelope): void {
  if (!producer) return
  event.traceparent = producer.traceparent
  producer.span?.setAttribute(MESSAGING_MESSAGE_ID, event.id)
}

/**
 * Runs a handler of `event` inside a consumer span (`process order.created`), a child of the
 * span whose context the envelope carries; a throw marks the span failed and is passed on.
 * Without tracing, the handler runs as it is.
 */
export async function consumeInSpan<T>(
  event: EventEnvelope,
  consumer: string,
  handler: () => Promise<T> | T,
): Promise<T> {
  if (!isTracing()) return handler()
  const parent = extractContext({ traceparent: event.traceparent })
  const span = kitTracer().startSpan(
    `process ${event.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [MESSAGING_SYSTEM]: 'nats',
        [MESSAGING_OPERATION_TYPE]: 'process',
        [MESSAGING_DESTINATION]: event.type,
        [MESSAGING_MESSAGE_ID]: event.id,
        [MESSAGING_CONSUMER_GROUP]: consumer,
      },
    },
    parent,
  )
  try {
    return await context.with(trace.setSpan(parent, span), handler)
  } catch (e) {
    recordError(span, e)
    throw e
  } finally {
    span.end()
  }
}
