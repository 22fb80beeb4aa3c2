import { describe, expect, it } from 'vitest'
import { Counter } from 'prom-client'
import { HTTP_DURATION_BUCKETS, Metrics } from './metrics.js'

/** The exposition's samples by name and labels, after checking each family's HELP and TYPE. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  const typed = new Set<string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\w+) (.+)$/.exec(line)
    if (meta) {
      if (meta[1] === 'TYPE') typed.add(meta[2]!)
      continue
    }
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line)
    expect(m, `not a sample line: ${line}`).not.toBeNull()
    const family = m![1]!.replace(/_(bucket|sum|count)$/, '')
    expect(typed.has(m![1]!) || typed.has(family), `no TYPE before ${line}`).toBe(true)
    const labels = (m![2] ?? '{}')
      .slice(1, -1)
      .split(/,(?=\w+=")/)
      .filter(Boolean)
      .sort()
      .join(',')
    samples.set(`${m![1]}{${labels}}`, Number(m![3] === '+Inf' ? Infinity : m![3]))
  }
  return samples
}

const key = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`

describe('Metrics', () => {
  it('exposes RED metrics per route, method and status as a Prometheus counter and histogram', async () => {
    const metrics = new Metrics('svc', { processMetrics: false })
    metrics.observeHttp('GET', '/orders/:id', 200, 0.0004)
    metrics.observeHttp('GET', '/orders/:id', 200, 0.003)
    metrics.observeHttp('GET', '/orders/:id', 200, 20)
    metrics.observeHttp('GET', '/orders/:id', 404, 0.001)
    metrics.observeHttp('POST', '/orders', 201, 0.01)
    const { body, contentType } = await metrics.exposition()
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(body).toContain('# TYPE http_requests_total counter')
    expect(body).toContain('# TYPE http_request_duration_seconds histogram')
    const s = parse(body)
    const ok = { method: 'GET', route: '/orders/:id', status_code: '200', service: 'svc' }
    expect(s.get(key('http_requests_total', ok))).toBe(3)
    expect(s.get(key('http_requests_total', { ...ok, status_code: '404' }))).toBe(1)
    expect(
      s.get(key('http_requests_total', { ...ok, method: 'POST', route: '/orders', status_code: '201' })),
    ).toBe(1)
    expect(s.get(key('http_request_duration_seconds_count', ok))).toBe(3)
    expect(s.get(key('http_request_duration_seconds_sum', ok))).toBeCloseTo(20.0034, 6)
    const bucket = (le: string) => s.get(key('http_request_duration_seconds_bucket', { ...ok, le }))
    expect(bucket('0.001')).toBe(1)
    expect(bucket('0.0025')).toBe(1)
    expect(bucket('0.005')).toBe(2)
    expect(bucket('10')).toBe(2)
    expect(bucket('+Inf')).toBe(3)
    // an observation on a bound falls in that bucket (le is "less than or equal")
    expect(
      s.get(key('http_request_duration_seconds_bucket', { ...ok, status_code: '404', le: '0.001' })),
    ).toBe(1)
    // cumulative: never decreasing across the bounds
    const values = HTTP_DURATION_BUCKETS.map((b) => bucket(String(b))!)
    expect(values).toEqual([...values].sort((a, b) => a - b))
  })

  it('gives the same samples with plain prom-client (KIT_PLAIN_LOGGING=1) as with its own numbers', async () => {
    const own = new Metrics('svc', { processMetrics: false, plain: false })
    const plain = new Metrics('svc', { processMetrics: false, plain: true })
    for (const m of [own, plain]) {
      m.observeHttp('GET', '/orders/:id', 200, 0.0004)
      m.observeHttp('GET', '/orders/:id', 200, 0.003)
      m.observeHttp('GET', '/orders/:id', 404, 0.001)
      m.observeHttp('POST', '/orders', 201, 12)
    }
    const a = parse((await own.exposition()).body)
    const b = parse((await plain.exposition()).body)
    expect(a.size).toBeGreaterThan(10)
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort())
    for (const [k, v] of a) expect(b.get(k), k).toBeCloseTo(v, 9)
  })

  it('keeps the families of other code in the same registry, and empties on reset', async () => {
    const metrics = new Metrics('svc', { processMetrics: false })
    const other = new Counter({ name: 'jobs_total', help: 'jobs', registers: [metrics.registry] })
    other.inc()
    metrics.observeHttp('GET', '/x', 200, 0.01)
    expect((await metrics.exposition()).body).toContain('jobs_total{service="svc"} 1')
    metrics.registry.resetMetrics()
    const { body } = await metrics.exposition()
    expect(body).not.toContain('route="/x"')
    metrics.observeHttp('GET', '/x', 200, 0.01)
    expect(
      parse((await metrics.exposition()).body).get(
        key('http_requests_total', { method: 'GET', route: '/x', status_code: '200', service: 'svc' }),
      ),
    ).toBe(1)
  })

  it('names no gauge *_total, which `promtool check metrics` rejects, and keeps the per-type gauges', async () => {
    const { body } = await new Metrics('svc').exposition()
    const types = [...body.matchAll(/^# TYPE (\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!] as const)
    expect(types.filter(([name, type]) => name.endsWith('_total') && type !== 'counter')).toEqual([])
    expect(types).toContainEqual(['nodejs_active_handles', 'gauge'])
    expect(types).toContainEqual(['process_cpu_seconds_total', 'counter'])
    parse(body)
  })
})
