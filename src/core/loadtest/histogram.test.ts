import { describe, expect, it } from 'vitest'
import { createHistogram, recordMs, toLatencyStats, toPointStats } from './histogram.js'

describe('latency histogram', () => {
  it('keeps 3 significant digits: 1..1000 ms has its median at 500 ms within 0.5 ms', () => {
    const h = createHistogram()
    for (let v = 1; v <= 1000; v++) recordMs(h, v)
    const s = toLatencyStats(h)
    expect(s.count).toBe(1000)
    expect(Math.abs(s.p50 - 500)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(s.max - 1000)).toBeLessThanOrEqual(1)
  })

  it('tracks 1 µs to 1 hour: shorter and longer values are clamped, not dropped', () => {
    const h = createHistogram()
    recordMs(h, 0)
    recordMs(h, 7_200_000)
    const s = toLatencyStats(h)
    expect(s.count).toBe(2)
    expect(s.p50).toBe(0.001)
    expect(Math.abs(s.max - 3_600_000) / 3_600_000).toBeLessThanOrEqual(0.001)
  })

  // issue #19: a second's point skips the mean (a walk over every bucket, ms in the middle of sends)
  it('gives a second the percentiles and max of toLatencyStats, zeros when empty', () => {
    const h = createHistogram()
    expect(toPointStats(h)).toEqual({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0 })
    for (let v = 1; v <= 5000; v++) recordMs(h, v / 7)
    const { p50, p90, p99, p999, max } = toLatencyStats(h)
    expect(toPointStats(h)).toEqual({ p50, p90, p99, p999, max })
  })
})
