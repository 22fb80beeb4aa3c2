import { describe, expect, it } from 'vitest'
import type { LoadModel } from './report.js'
import { createArrivalSchedule, profileRequests, rateAt } from './schedule.js'
import { toWarmupModel, withWarmup } from './warmup.js'

const open = (startRate: number, stages: [number, number][]): LoadModel => ({
  kind: 'open',
  profile: { startRate, stages: stages.map(([durationMs, rate]) => ({ durationMs, rate })) },
  maxConnections: 50,
})
const times = (m: LoadModel) => {
  if (m.kind !== 'open') throw new Error('open model only')
  const s = createArrivalSchedule(m.profile)
  const out: number[] = []
  for (let t = s.next(); t !== undefined; t = s.next()) out.push(t)
  return out
}

/** the same send times, to a nanosecond (the sums are made in another order) */
const expectSameTimes = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length)
  got.forEach((t, i) => expect(Math.abs(t - want[i]!)).toBeLessThan(1e-6))
}

describe('withWarmup', () => {
  it('runs the warm-up, then the very schedule the run alone would send, shifted by the warm-up', () => {
    const run = open(200, [[1000, 200]])
    const both = withWarmup(run, toWarmupModel(run, 500))
    const all = times(both)
    expect(all.length).toBe(100 + 200)
    expectSameTimes(
      all.slice(100).map((t) => t - 500),
      times(run),
    )
    // the warm-up's arrivals all fall before the run's clock, the run's from it on
    expect(all.filter((t) => t < 500).length).toBe(100)
  })

  it("a ramp from 0 warms up at its first stage's rate, then jumps back to ramp as asked", () => {
    const run = open(0, [
      [1000, 100],
      [1000, 300],
    ])
    const warm = toWarmupModel(run, 2000)
    expect(warm.kind === 'open' && warm.profile).toEqual({
      startRate: 100,
      stages: [{ durationMs: 2000, rate: 100 }],
    })
    const both = withWarmup(run, warm)
    if (both.kind !== 'open') throw new Error('open')
    expect(profileRequests(both.profile)).toBe(200 + profileRequests((run as typeof both).profile))
    // just after the warm-up the rate is the run's own start (0), half way up its ramp 50/s
    expect(rateAt(both.profile, 2000.001)).toBeCloseTo(0, 1)
    expect(rateAt(both.profile, 2500)).toBeCloseTo(50, 5)
    expectSameTimes(
      times(both)
        .filter((t) => t >= 2000)
        .map((t) => t - 2000),
      times(run),
    )
  })

  it('the closed model keeps its connections for the warm-up and the run', () => {
    const run: LoadModel = { kind: 'closed', connections: 8, pipelining: 1, durationMs: 3000 }
    expect(withWarmup(run, toWarmupModel(run, 1000))).toEqual({ ...run, durationMs: 4000 })
  })
})
