import { describe, expect, it } from 'vitest'
import { formatLiveLine } from './loadtest.js'

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
