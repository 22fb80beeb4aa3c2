/**
 * The metric families a generated service's kit exports on /metrics (templates/workspace/files/
 * packages/kit/src): what the generated Prometheus rules and Grafana dashboard may name. A unit
 * test reads the kit's sources and keeps this list true; another checks that every query msvc
 * generates names only these, their histogram series, and the recording rules it defines.
 */
export const KIT_METRICS = {
  // every service and the gateway (kit/src/metrics.ts); every family carries a `service` label
  http_requests_total: 'counter',
  http_request_duration_seconds: 'histogram',
  // a service with grpc (kit/src/grpc/metrics.ts)
  grpc_server_handled_total: 'counter',
  grpc_server_handling_seconds: 'histogram',
  // a caller's breakers, one per callee (kit/src/resilience/breaker.ts); the gateway's per upstream
  circuit_breaker_state: 'gauge',
  circuit_breaker_transitions_total: 'counter',
  // a service with events (kit/src/events/metrics.ts)
  events_published_total: 'counter',
  events_publish_failed_total: 'counter',
  events_consumed_total: 'counter',
  events_redelivered_total: 'counter',
  events_dead_lettered_total: 'counter',
  event_handler_duration_seconds: 'histogram',
  // a saga's owner (kit/src/saga/metrics.ts)
  saga_started_total: 'counter',
  saga_ended_total: 'counter',
  saga_step_duration_seconds: 'histogram',
  saga_in_flight: 'gauge',
  saga_stuck: 'gauge',
  // the gateway (kit/src/gateway/gateway-metrics.ts)
  gateway_upstream_requests_total: 'counter',
  gateway_upstream_request_duration_seconds: 'histogram',
  gateway_upstream_instances: 'gauge',
  gateway_upstream_ejections_total: 'counter',
  gateway_retries_total: 'counter',
  gateway_rate_limited_total: 'counter',
  gateway_auth_refused_total: 'counter',
} as const

export type KitMetric = keyof typeof KIT_METRICS

/**
 * The series names a query may use: each family, a histogram's `_bucket`, `_sum` and `_count`,
 * and what Prometheus adds to every target (`up`, `scrape_duration_seconds`...).
 */
export function listSeriesNames(): Set<string> {
  const out = new Set<string>(['up', 'scrape_duration_seconds', 'scrape_samples_scraped'])
  for (const [name, type] of Object.entries(KIT_METRICS)) {
    out.add(name)
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s)
  }
  return out
}
