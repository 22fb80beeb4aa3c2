import { describe, expect, it } from 'vitest'
import { sampleLoadReport } from '../../test/helpers/load-report.js'
import { formatLiveLine, formatSummary } from './loadtest.js'

describe('formatLiveLine', () => {
  it('shows elapsed of total, achieved of scheduled rate, p99, errors and requests in flight', () => {
    const line = formatLiveLine(
      { t: 3, targetRate: 100, requests: 98, errors: 1, p50: 3, p90: 8, p99: 12, p999: 20, max: 25 },
      { requests: 300, errors: 3, elapsedMs: 3000, inFlight: 4 },
      10_000,
    )
    expect(line).toBe('3s/10s  98/100 req/s  p99 12 ms  errors 3 (1.00%)  in flight 4')
  })

  it('has no schedule in the closed model and no total without a duration', () => {
    const line = formatLiveLine(
      { t: 1, requests: 50, errors: 0, p50: 1, p90: 2, p99: 2.5, p999: 3, max: 3 },
      { requests: 0, errors: 0, elapsedMs: 1000, inFlight: 0 },
      undefined,
    )
    expect(line).toBe('1s  50 req/s  p99 2.50 ms  errors 0 (0.00%)  in flight 0')
  })
})

describe('formatSummary', () => {
  const report = sampleLoadReport({
    thresholds: [{ threshold: 'p99<5ms', stat: 'p99', ok: true, actual: 3 }],
  })

  it('reports connections opened and reused, and what the generator used', () => {
    const text = formatSummary(report)
    expect(text).toContain('connections: 2 opened, 8 requests sent on one already used')
    expect(text).toContain('generator: CPU 0.12 cores, event loop busy 10 %')
    expect(text).not.toContain('describe the load generator')
    expect(text).toContain('✔ p99<5ms (actual 3.00 ms)')
  })

  it('warns when the figures describe the generator, and marks the breaches it may account for', () => {
    const text = formatSummary({
      ...report,
      generator: {
        saturated: true,
        sendLagP99: 7.5,
        cpu: 1,
        eventLoop: 0.99,
        loopDelayMax: 3,
        reasons: ['sends fell behind the schedule: send lag p99 7.5 ms (over 1 ms)'],
        hint: "latencies include the generator's own delay: lower --rate",
      },
      thresholds: [
        { threshold: 'p99<2ms', stat: 'p99', ok: false, actual: 3, trusted: false },
        { threshold: 'errors<1%', stat: 'errors', ok: false, actual: 0.5 },
      ],
      passed: false,
    })
    expect(text).toContain('⚠ these figures describe the load generator, not only the system:')
    expect(text).toContain('  sends fell behind the schedule: send lag p99 7.5 ms (over 1 ms)')
    expect(text).toContain("  latencies include the generator's own delay: lower --rate")
    expect(text).toContain('? p99<2ms (actual 3.00 ms; not judged: the generator may account for it)')
    expect(text).toContain('✖ errors<1% (actual 50.00%)')
  })

  it('lists each flow: iterations, end to end latency, its checks and why iterations stopped', () => {
    const latency = { count: 9, p50: 12, p90: 20, p95: 22, p99: 30, p999: 31, max: 31, mean: 14 }
    const text = formatSummary({
      ...report,
      targetRate: 10,
      flows: [
        {
          name: 'checkout',
          iterations: 10,
          completed: 9,
          stopped: 1,
          latency,
          steps: [
            {
              name: 'create',
              endpoint: 'checkout › create',
              checks: [],
              stops: { 'status 500 not expected': 1 },
            },
            {
              name: 'get',
              endpoint: 'checkout › get',
              checks: [{ check: '$.status = "confirmed"', passed: 7, failed: 2 }],
              stops: {},
            },
          ],
        },
      ],
    })
    expect(text).toContain('scheduled (requests and flow iterations; later flow steps follow their answers)')
    expect(text).toContain(
      'flow checkout: 10 iterations, 9 completed, 1 stopped; end to end p50 12 ms, p99 30 ms, max 31 ms',
    )
    expect(text).toContain('  ✖ get: check $.status = "confirmed": 7 passed, 2 failed')
    expect(text).toContain('  ✖ create: 1 stopped: status 500 not expected')
  })
})
