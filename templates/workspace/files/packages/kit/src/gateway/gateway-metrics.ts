// The gateway's own metrics, beside the kit's HTTP RED metrics per route (which createHttpServer
// records). Labels stay few: an upstream, a route prefix, an outcome, a status; never a client.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { HTTP_DURATION_BUCKETS } from '../metrics.js'
import type { Upstream } from './upstream.js'

/**
 * How one attempt at an upstream went: `ok` (an answer below 500), `error` (a 5xx answer or a
 * failed connection), `timeout`, or `rejected` (not sent: breaker open, no instance).
 */
export type UpstreamOutcome = 'ok' | 'error' | 'timeout' | 'rejected'

const OUTCOMES: UpstreamOutcome[] = ['ok', 'error', 'timeout', 'rejected']

/** The series of one upstream, bound once so that a request does no label lookups. */
export interface UpstreamSeries {
  outcome: Record<UpstreamOutcome, Counter.Internal>
  /** seconds from sending an attempt to its response headers (or its failure) */
  duration: Histogram.Internal<'upstream'>
  retries: Counter.Internal
  ejections: Counter.Internal
}

/** Registers the gateway's families on `registry`; `upstreams` is read at each scrape. */
export class GatewayMetrics {
  private readonly requests: Counter<'upstream' | 'outcome'>
  private readonly duration: Histogram<'upstream'>
  private readonly retries: Counter<'upstream'>
  private readonly ejections: Counter<'upstream'>
  private readonly rateLimited: Counter<'route'>
  private readonly authRefused: Counter<'route' | 'status'>

  constructor(registry: Registry, upstreams: () => Iterable<Upstream>) {
    const registers = [registry]
    this.requests = new Counter({
      name: 'gateway_upstream_requests_total',
      help: 'Attempts at upstreams by outcome: ok, error (5xx or connection), timeout, rejected (not sent)',
      labelNames: ['upstream', 'outcome'],
      registers,
    })
    this.duration = new Histogram({
      name: 'gateway_upstream_request_duration_seconds',
      help: 'Time from sending an attempt to an upstream to its response headers',
      labelNames: ['upstream'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    })
    new Gauge({
      name: 'gateway_upstream_instances',
      help: 'Instances of each upstream by state: healthy, ejected (after failures), not_ready (failing its check)',
      labelNames: ['upstream', 'state'],
      registers,
      collect() {
        for (const upstream of upstreams()) {
          const count = { healthy: 0, ejected: 0, not_ready: 0 }
          for (const i of upstream.instances())
            count[i.ejected ? 'ejected' : i.ready ? 'healthy' : 'not_ready']++
          for (const [state, n] of Object.entries(count)) this.set({ upstream: upstream.name, state }, n)
        }
      },
    })
    this.ejections = new Counter({
      name: 'gateway_upstream_ejections_total',
      help: 'Instances taken out of an upstream after failing requests in a row',
      labelNames: ['upstream'],
      registers,
    })
    this.retries = new Counter({
      name: 'gateway_retries_total',
      help: 'Requests sent again to an upstream after a failed attempt',
      labelNames: ['upstream'],
      registers,
    })
    this.rateLimited = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429 by route prefix',
      labelNames: ['route'],
      registers,
    })
    this.authRefused = new Counter({
      name: 'gateway_auth_refused_total',
      help: 'Requests refused by the token check, by route prefix and status (401, 403)',
      labelNames: ['route', 'status'],
      registers,
    })
  }

  /** The series of an upstream, shown at zero from the start (so that rates have a first sample). */
  forUpstream(upstream: string): UpstreamSeries {
    const outcome = Object.fromEntries(
      OUTCOMES.map((o) => [o, this.requests.labels({ upstream, outcome: o })]),
    ) as Record<UpstreamOutcome, Counter.Internal>
    const series = {
      outcome,
      duration: this.duration.labels({ upstream }),
      retries: this.retries.labels({ upstream }),
      ejections: this.ejections.labels({ upstream }),
    }
    for (const counter of [...Object.values(outcome), series.retries, series.ejections]) counter.inc(0)
    this.duration.zero({ upstream })
    return series
  }

  countRateLimited(route: string): void {
    this.rateLimited.inc({ route })
  }

  countAuthRefused(route: string, status: number): void {
    this.authRefused.inc({ route, status: String(status) })
  }
}
