import { describe, expect, it } from 'vitest'
import { quantileMs, readMetricsSample, sumSamples, toRedFigures } from './red.js'

const exposition = (
  ok: number,
  failed: number,
  fast: number,
  slow: number,
  breaker = 0,
) => `# HELP http_requests_total Requests
# TYPE http_requests_total counter
http_requests_total{service="order",method="GET",route="/orders",status_code="200"} ${ok}
http_requests_total{service="order",method="POST",route="/orders",status_code="503"} ${failed}
http_requests_total{service="order",method="GET",route="/health/ready",status_code="200"} 999
http_request_duration_seconds_bucket{service="order",method="GET",route="/orders",status_code="200",le="0.01"} ${fast}
http_request_duration_seconds_bucket{service="order",method="GET",route="/orders",status_code="200",le="0.1"} ${fast + slow}
http_request_duration_seconds_bucket{service="order",method="GET",route="/orders",status_code="200",le="+Inf"} ${fast + slow}
http_request_duration_seconds_bucket{service="order",method="POST",route="/orders",status_code="503",le="0.01"} 0
http_request_duration_seconds_bucket{service="order",method="POST",route="/orders",status_code="503",le="0.1"} ${failed}
http_request_duration_seconds_bucket{service="order",method="POST",route="/orders",status_code="503",le="+Inf"} ${failed}
http_request_duration_seconds_bucket{service="order",method="GET",route="/metrics",status_code="200",le="0.01"} 500
circuit_breaker_state{service="order",target="payment"} ${breaker}
process_cpu_seconds_total 1.5
`

describe('readMetricsSample', () => {
  it('sums the RED series over routes, leaving out health and metrics', () => {
    const s = readMetricsSample(exposition(90, 10, 80, 10))
    expect(s.requests).toBe(100)
    expect(s.errors).toBe(10)
    expect(s.buckets).toEqual([
      [0.01, 80],
      [0.1, 100],
      [Infinity, 100],
    ])
    expect(s.breakers).toEqual({ payment: 'closed' })
  })

  it('reads breaker states', () => {
    expect(readMetricsSample(exposition(0, 0, 0, 0, 1)).breakers).toEqual({ payment: 'open' })
    expect(readMetricsSample(exposition(0, 0, 0, 0, 2)).breakers).toEqual({ payment: 'half-open' })
  })

  it('takes an empty or foreign exposition as no traffic', () => {
    expect(readMetricsSample('garbage\n{}\n')).toEqual({ requests: 0, errors: 0, buckets: [], breakers: {} })
  })
})

describe('toRedFigures', () => {
  it('gives rate, error rate and percentiles between two scrapes', () => {
    const a = readMetricsSample(exposition(90, 10, 80, 10))
    const b = readMetricsSample(exposition(180, 20, 160, 20))
    const red = toRedFigures(a, b, 2000)
    expect(red.rate).toBe(50)
    expect(red.errorRate).toBeCloseTo(0.1)
    expect(red.p50Ms).toBeCloseTo(6.25)
    expect(red.p99Ms).toBeGreaterThan(10)
    expect(red.p99Ms).toBeLessThanOrEqual(100)
  })

  it('counts from zero after a restart (counters went down)', () => {
    const a = readMetricsSample(exposition(900, 0, 900, 0))
    const b = readMetricsSample(exposition(10, 0, 10, 0))
    expect(toRedFigures(a, b, 1000).rate).toBe(10)
  })

  it('has no percentiles without requests', () => {
    const a = readMetricsSample(exposition(5, 0, 5, 0))
    expect(toRedFigures(a, a, 1000)).toEqual({ rate: 0, errorRate: 0 })
  })
})

describe('sumSamples', () => {
  it('adds replicas and keeps the worst breaker', () => {
    const s = sumSamples([
      readMetricsSample(exposition(10, 0, 10, 0, 0)),
      readMetricsSample(exposition(5, 5, 5, 5, 1)),
    ])
    expect(s.requests).toBe(20)
    expect(s.errors).toBe(5)
    expect(s.breakers).toEqual({ payment: 'open' })
  })
})

describe('quantileMs', () => {
  it('interpolates inside a bucket and stops at the highest finite bound', () => {
    expect(
      quantileMs(
        [
          [0.1, 10],
          [Infinity, 10],
        ],
        0.5,
      ),
    ).toBeCloseTo(50)
    expect(
      quantileMs(
        [
          [0.1, 0],
          [Infinity, 10],
        ],
        0.5,
      ),
    ).toBeCloseTo(100)
    expect(quantileMs([], 0.5)).toBeUndefined()
  })
})
