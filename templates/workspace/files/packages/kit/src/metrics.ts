import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export { Registry }

type HttpLabel = 'method' | 'route' | 'status_code'

/** One (route, method, status) series: its counter and histogram children, labelled once. */
interface HttpSeries {
  requests: Counter.Internal
  duration: Histogram.Internal<HttpLabel>
}

/** The service's metrics: one registry, RED metrics for HTTP, process metrics. */
export class Metrics {
  readonly registry = new Registry()
  readonly httpRequests: Counter<HttpLabel>
  readonly httpDuration: Histogram<HttpLabel>
  /** route -> method -> status code -> series; a request finds its series without building labels */
  private readonly httpSeries = new Map<string, Map<string, Map<number, HttpSeries>>>()

  constructor(service: string, opts: { processMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ service })
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers: [this.registry],
    })
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    })
  }

  /** Records one finished request; `route` is the route template (`/orders/:id`), never the raw URL. */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    const series = this.seriesOf(method, route, statusCode)
    series.requests.inc()
    series.duration.observe(seconds)
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  private seriesOf(method: string, route: string, statusCode: number): HttpSeries {
    let byMethod = this.httpSeries.get(route)
    if (!byMethod) this.httpSeries.set(route, (byMethod = new Map()))
    let byStatus = byMethod.get(method)
    if (!byStatus) byMethod.set(method, (byStatus = new Map()))
    let series = byStatus.get(statusCode)
    if (!series) {
      const labels = { method, route, status_code: String(statusCode) }
      series = { requests: this.httpRequests.labels(labels), duration: this.httpDuration.labels(labels) }
      byStatus.set(statusCode, series)
    }
    return series
  }
}
