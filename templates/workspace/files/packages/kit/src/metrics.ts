import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client'
import { PerRoute } from './per-route.js'
import { plainMode } from './plain.js'

export { Registry }

type HttpLabel = 'method' | 'route' | 'status_code'

const HTTP_REQUESTS_HELP = 'HTTP requests by method, route template and status code'
const HTTP_DURATION_HELP = 'HTTP request duration by method, route template and status code'

/** Upper bounds of the request duration histogram, in seconds. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** One (route, method, status code) series of the HTTP RED metrics, as plain numbers. */
class HttpSeries {
  count = 0
  sum = 0
  /** observations per bucket, not cumulative; the last slot is for those above every bound */
  readonly perBucket = new Float64Array(HTTP_DURATION_BUCKETS.length + 1)

  constructor(readonly labels: Record<HttpLabel, string>) {}
}

/** A sample as prom-client's registry renders it (what its own metrics' `get()` returns). */
interface Sample {
  metricName?: string
  labels: Record<string, string | number>
  value: number
}

/**
 * The service's metrics: one registry, RED metrics for HTTP, process metrics.
 *
 * A request is recorded into plain numbers (a count, a sum and a bucket per route, method and
 * status code); the two HTTP families, `http_requests_total` and
 * `http_request_duration_seconds`, are computed from them when the registry is read. Through
 * prom-client's labelled counter and histogram the same record cost about 1.5 µs a request, a
 * twentieth of the service's CPU under load (PERFORMANCE.md); now it is a few map lookups and additions.
 * With `plain` (or KIT_PLAIN_LOGGING=1), prom-client's counter and histogram, same names and labels.
 */
export class Metrics {
  readonly registry = new Registry()
  private readonly allSeries: HttpSeries[] = []
  /** a request finds its series without building labels */
  private readonly httpSeries = new PerRoute((route, method, statusCode) => {
    const series = new HttpSeries({ method, route, status_code: String(statusCode) })
    this.allSeries.push(series)
    return series
  })

  /** KIT_PLAIN_LOGGING=1: prom-client's own counter and histogram (PERFORMANCE.md) */
  private readonly plain?: { requests: Counter<HttpLabel>; duration: Histogram<HttpLabel> }

  constructor(service: string, opts: { processMetrics?: boolean; plain?: boolean } = {}) {
    this.registry.setDefaultLabels({ service })
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry })
      dropTotalGauges(this.registry)
    }
    if (opts.plain ?? plainMode()) {
      const labelNames: HttpLabel[] = ['method', 'route', 'status_code']
      this.plain = {
        requests: new Counter({
          name: 'http_requests_total',
          help: HTTP_REQUESTS_HELP,
          labelNames,
          registers: [this.registry],
        }),
        duration: new Histogram({
          name: 'http_request_duration_seconds',
          help: HTTP_DURATION_HELP,
          labelNames,
          buckets: HTTP_DURATION_BUCKETS,
          registers: [this.registry],
        }),
      }
      return
    }
    this.register('http_requests_total', HTTP_REQUESTS_HELP, 'counter', () =>
      this.allSeries.map((s) => ({ labels: s.labels, value: s.count })),
    )
    this.register('http_request_duration_seconds', HTTP_DURATION_HELP, 'histogram', () =>
      this.allSeries.flatMap(toHistogramSamples),
    )
  }

  /** Records one finished request; `route` is the route template (`/orders/:id`), never the raw URL. */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    if (this.plain) {
      const labels = { method, route, status_code: String(statusCode) }
      this.plain.requests.inc(labels)
      this.plain.duration.observe(labels, seconds)
      return
    }
    const series = this.httpSeries.get(route, method, statusCode)
    series.count += 1
    series.sum += seconds
    let bucket = 0
    while (bucket < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[bucket]!) bucket++
    series.perBucket[bucket]! += 1
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  /** Registers a family read from the HTTP series, in the form the registry reads its own metrics. */
  private register(name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]): void {
    const family = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
      reset: () => {
        this.httpSeries.clear()
        this.allSeries.length = 0
      },
    }
    this.registry.registerMetric(family as unknown as Metric)
  }
}

/**
 * Removes the gauges whose names end in `_total` (prom-client's `nodejs_active_handles_total`,
 * `nodejs_active_requests_total` and `nodejs_active_resources_total`). In Prometheus naming a
 * `_total` suffix marks a counter, and `promtool check metrics` rejects the exposition because of
 * them. Nothing is lost: each is the sum of its per-type gauge (`sum(nodejs_active_handles)`).
 */
function dropTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray())
    if (metric instanceof Gauge && metric.name.endsWith('_total')) registry.removeSingleMetric(metric.name)
}

/** A series as Prometheus histogram samples: cumulative buckets (`le`), then `+Inf`, sum and count. */
function toHistogramSamples(series: HttpSeries): Sample[] {
  const name = 'http_request_duration_seconds'
  const samples: Sample[] = []
  let cumulative = 0
  HTTP_DURATION_BUCKETS.forEach((le, i) => {
    cumulative += series.perBucket[i]!
    samples.push({ metricName: `${name}_bucket`, labels: { le, ...series.labels }, value: cumulative })
  })
  samples.push(
    { metricName: `${name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: series.count },
    { metricName: `${name}_sum`, labels: series.labels, value: series.sum },
    { metricName: `${name}_count`, labels: series.labels, value: series.count },
  )
  return samples
}
