import { describe, expect, it } from 'vitest'
import {
  GROW_AFTER_MS,
  MAX_CONNECTING,
  SERVICE_SAMPLES,
  toBacklogSince,
  toConnectionsToOpen,
  toLittleSize,
  toMixServiceMs,
  toQuantile,
  toWarmConnections,
  type PoolGrowthInput,
} from './pool-size.js'

// issue #19: the open model's pool is sized from observed latency, never by sends behind schedule
describe('toWarmConnections', () => {
  it.each([
    [100, 1000, 1, 8], // at least 8
    [10_000, 1000, 1, 50], // one per 200 requests/s
    [20_000, 50, 1, 50], // at most --max-connections
    [100, 1000, 2, 4], // a worker opens its share of the 8
    [10_000, 25, 2, 25], // a worker's rate and cap are its share
  ])('peak %i/s, max %i, %i workers: %i', (peak, max, workers, warm) => {
    expect(toWarmConnections(peak, max, workers)).toBe(warm)
  })
})

describe('toLittleSize', () => {
  it.each([
    [10_000, 0.2, 50, 1000, 50], // a fast server: the warm pool is more than enough
    [2_000, 50, 10, 1000, 200], // 2,000/s held 50 ms each: 100 busy, twice that
    [10_000, 200, 50, 1000, 1000], // latency rises to 200 ms: the cap, not 4,000
    [0, 5, 8, 1000, 8], // a ramp at 0/s keeps the floor
  ])('%i/s, %f ms, floor %i, max %i: %i', (rate, serviceMs, floor, max, size) => {
    expect(toLittleSize(rate, serviceMs, floor, max)).toBe(size)
  })
})

describe('toBacklogSince', () => {
  it('keeps the wait through ticks on time, or 1 ms late (a timer is)', () => {
    expect(toBacklogSince(100, 104, 0)).toBe(100)
    expect(toBacklogSince(100, 104, 1)).toBe(100)
  })

  it("does not count a late tick's lateness as the backlog's wait", () => {
    // ticks 2 ms late every 3 ms: the wait still grows, by the time on time
    let since = 0
    for (let now = 3; now <= 15; now += 3) since = toBacklogSince(since, now, 2)
    expect(15 - since).toBe(5)
    expect(15 - since).toBeGreaterThanOrEqual(GROW_AFTER_MS)
  })

  it('restarts the wait after a hold-up longer than it (a backlog of the generator making)', () => {
    expect(toBacklogSince(100, 160, 60)).toBe(160)
  })
})

describe('toConnectionsToOpen', () => {
  const base: PoolGrowthInput = {
    waiting: 100,
    waitedMs: GROW_AFTER_MS,
    open: 50,
    connecting: 0,
    rate: 2_000,
    serviceMs: 50,
    floor: 50,
    max: 1000,
  }

  it('opens for a backlog the latency explains, MAX_CONNECTING at once', () => {
    expect(toConnectionsToOpen(base)).toBe(MAX_CONNECTING)
    expect(toConnectionsToOpen({ ...base, connecting: 5 })).toBe(MAX_CONNECTING - 5)
    expect(toConnectionsToOpen({ ...base, connecting: MAX_CONNECTING })).toBe(0)
  })

  it('opens nothing before the backlog has waited GROW_AFTER_MS, or without one', () => {
    expect(toConnectionsToOpen({ ...base, waitedMs: GROW_AFTER_MS - 0.1 })).toBe(0)
    expect(toConnectionsToOpen({ ...base, waiting: 0 })).toBe(0)
  })

  it('opens no more than the jobs waiting, Little’s law or the cap allow', () => {
    expect(toConnectionsToOpen({ ...base, waiting: 3 })).toBe(3)
    expect(toConnectionsToOpen({ ...base, open: 197 })).toBe(3) // Little: 200
    expect(toConnectionsToOpen({ ...base, serviceMs: 500, open: 998 })).toBe(2) // the cap
  })

  it('a backlog behind a fast server is the generator’s own: no storm', () => {
    // 20,000/s answered in 0.3 ms keep 6 connections busy; 50 warm ones are plenty
    expect(toConnectionsToOpen({ ...base, rate: 20_000, serviceMs: 0.3, waiting: 2_000 })).toBe(0)
  })

  it('replaces lost connections up to the warm pool, even before any answer', () => {
    expect(toConnectionsToOpen({ ...base, open: 0, serviceMs: 0, floor: 8 })).toBe(8)
    expect(toConnectionsToOpen({ ...base, open: 6, serviceMs: 0, floor: 8 })).toBe(2)
  })
})

describe('toQuantile', () => {
  it('is the nearest-rank quantile of the first n values, untouched; answers read late do not move the lower quartile', () => {
    const ring = new Float64Array([0.3, 60, 0.2, 61, 0.25, 0.28, 0.22, 59, 0, 0])
    expect(toQuantile(ring, 8, 0.25)).toBe(0.22)
    expect(toQuantile(ring, 8, 0.5)).toBe(0.28)
    expect(toQuantile(ring, 8, 1)).toBe(61)
    expect(toQuantile(ring, 0, 0.25)).toBe(0)
    expect(Array.from(ring)).toEqual([0.3, 60, 0.2, 61, 0.25, 0.28, 0.22, 59, 0, 0])
  })
})

describe('toMixServiceMs', () => {
  const samples = (...ms: number[]) => {
    const values = new Float64Array(SERVICE_SAMPLES)
    ms.forEach((v, i) => (values[i] = v))
    return { values, count: ms.length }
  }
  it("weighs each endpoint's lower quartile by its share of the last answers", () => {
    // a journey: three fast steps (5 ms) and an order (150 ms), one answer each in turn
    const byEp = new Map([
      [0, samples(5, 5, 6, 5)],
      [1, samples(4, 5, 5, 5)],
      [2, samples(5, 5, 5, 7)],
      [3, samples(150, 160, 140, 155)],
    ])
    const recent = Array.from({ length: 32 }, (_, i) => i % 4)
    // (each lower quartile: 5, 4, 5 and 140 ms)
    expect(toMixServiceMs(byEp, recent, 32)).toBeCloseTo((5 + 4 + 5 + 140) / 4, 5)
    // the lower quartile of the mix as one would size the pool for the fast steps alone
    const all = [...byEp.values()].flatMap((s) => [...s.values.slice(0, s.count)])
    expect(toQuantile(all, all.length, 0.25)).toBe(5)
  })

  it('is the lower quartile of a single endpoint, and 0 before any answer', () => {
    const byEp = new Map([[0, samples(1, 2, 3, 40)]])
    expect(toMixServiceMs(byEp, new Int32Array(32), 4)).toBe(1)
    expect(toMixServiceMs(byEp, new Int32Array(32), 0)).toBe(0)
  })
})
