/**
 * RED figures (rate, errors, duration) and breaker states from the services' /metrics, as the
 * dashboard scrapes them every second (issue #18). Pure: the exposition text of one scrape in, a
 * sample out; two samples of a service in, its figures over the time between them out.
 *
 * The series are the kit's (packages/kit/src/metrics.ts, resilience/breaker.ts):
 * `http_requests_total{method,route,status_code}`, `http_request_duration_seconds_bucket{le,...}`
 * and `circuit_breaker_state{target}` (0 closed, 1 open, 2 half-open).
 */

export type BreakerState = 'closed' | 'open' | 'half-open'

/** What one scrape of one replica held: counters since that process started. */
export interface MetricsSample {
  requests: number
  /** requests answered 5xx */
  errors: number
  /** cumulative duration buckets, by upper bound in seconds (Infinity last) */
  buckets: [number, number][]
  breakers: Record<string, BreakerState>
}

/** A service's figures over an interval. */
export interface RedFigures {
  /** requests a second */
  rate: number
  /** the share of requests answered 5xx, 0 to 1 (0 with no requests) */
  errorRate: number
  /** estimated from the histogram's buckets; undefined with no requests */
  p50Ms?: number
  p99Ms?: number
}

/**
 * Routes that are not the service's work: the dashboard's own probes, Prometheus's scrapes and
 * Docker's health checks would otherwise show as traffic on an idle stack.
 */
const PLUMBING_ROUTE = /^\/(health|metrics)(\/|$)/

const BREAKER_STATES: Record<string, BreakerState> = { '0': 'closed', '1': 'open', '2': 'half-open' }

/** Reads the kit's RED series and breaker gauges from a Prometheus text exposition. */
export function readMetricsSample(exposition: string): MetricsSample {
  let requests = 0
  let errors = 0
  const buckets = new Map<number, number>()
  const breakers: Record<string, BreakerState> = {}
  for (const raw of exposition.split('\n')) {
    if (!raw || raw.charCodeAt(0) === 35 /* # */) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(raw)
    if (!m) continue
    const name = m[1]!
    if (
      name !== 'http_requests_total' &&
      name !== 'http_request_duration_seconds_bucket' &&
      name !== 'circuit_breaker_state'
    )
      continue
    const labels = readLabels(m[2] ?? '')
    const value = Number(m[3])
    if (!Number.isFinite(value)) continue
    if (name === 'circuit_breaker_state') {
      if (labels.target) breakers[labels.target] = BREAKER_STATES[String(value)] ?? 'open'
      continue
    }
    if (PLUMBING_ROUTE.test(labels.route ?? '')) continue
    if (name === 'http_requests_total') {
      requests += value
      if (/^5/.test(labels.status_code ?? '')) errors += value
    } else {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le)
      if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + value)
    }
  }
  return { requests, errors, buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), breakers }
}

function readLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g
  for (let m = re.exec(body); m; m = re.exec(body)) labels[m[1]!] = m[2]!
  return labels
}

/** The samples of a service's replicas as one: counters and buckets summed, the worst breaker state. */
export function sumSamples(samples: readonly MetricsSample[]): MetricsSample {
  const buckets = new Map<number, number>()
  const breakers: Record<string, BreakerState> = {}
  const rank = { closed: 0, 'half-open': 1, open: 2 }
  let requests = 0
  let errors = 0
  for (const s of samples) {
    requests += s.requests
    errors += s.errors
    for (const [le, n] of s.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n)
    for (const [target, state] of Object.entries(s.breakers))
      if (!breakers[target] || rank[state] > rank[breakers[target]]) breakers[target] = state
  }
  return { requests, errors, buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), breakers }
}

/**
 * The figures between two samples of one replica (or of a service, summed) `ms` apart. A counter
 * that went down means the process restarted: the later sample then counts from zero.
 */
export function toRedFigures(prev: MetricsSample | undefined, cur: MetricsSample, ms: number): RedFigures {
  const restarted = !prev || cur.requests < prev.requests
  const base = restarted ? undefined : prev
  const requests = cur.requests - (base?.requests ?? 0)
  const errors = cur.errors - (base?.errors ?? 0)
  const seconds = Math.max(ms, 1) / 1000
  const before = new Map(base?.buckets ?? [])
  const delta = cur.buckets.map(([le, n]) => [le, n - (before.get(le) ?? 0)] as [number, number])
  const p50 = quantileMs(delta, 0.5)
  const p99 = quantileMs(delta, 0.99)
  return {
    rate: requests / seconds,
    errorRate: requests > 0 ? Math.min(1, errors / requests) : 0,
    ...(p50 !== undefined ? { p50Ms: p50 } : {}),
    ...(p99 !== undefined ? { p99Ms: p99 } : {}),
  }
}

/**
 * A quantile from cumulative buckets, interpolated linearly inside its bucket as Prometheus's
 * histogram_quantile does; in the +Inf bucket, the highest finite bound.
 */
export function quantileMs(buckets: readonly [number, number][], q: number): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0
  if (total <= 0) return undefined
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe * 1000
      const inBucket = count - prevCount
      const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1
      return (prevLe + (le - prevLe) * frac) * 1000
    }
    prevLe = le === Infinity ? prevLe : le
    prevCount = count
  }
  return prevLe * 1000
}
