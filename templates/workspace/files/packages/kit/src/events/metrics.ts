// The bus's Prometheus metrics, registered in the service's registry by EventBus.instrument.
import { Counter, Histogram } from 'prom-client'
import type { Registry } from 'prom-client'

export type EventMetrics = ReturnType<typeof createEventMetrics>

export function createEventMetrics() {
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
