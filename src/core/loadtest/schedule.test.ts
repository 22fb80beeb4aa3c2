import { describe, expect, it } from 'vitest'
import {
  constantProfile,
  createArrivalSchedule,
  parseStages,
  profileDurationMs,
  profileRequests,
  rateAt,
  sliceSchedule,
} from './schedule.js'

const all = (s: { next(): number | undefined }) => {
  const out: number[] = []
  for (let t = s.next(); t !== undefined; t = s.next()) out.push(t)
  return out
}

describe('parseStages', () => {
  it.each([
    [
      '10s:100,30s:1000',
      [
        { durationMs: 10_000, rate: 100 },
        { durationMs: 30_000, rate: 1000 },
      ],
    ],
    [' 1m30s : 5 ', [{ durationMs: 90_000, rate: 5 }]],
    ['500ms:0', [{ durationMs: 500, rate: 0 }]],
  ])('%s', (text, stages) => expect(parseStages(text)).toEqual(stages))

  it.each(['', '10s', '10:100', '10s:-1', '0s:10', 'x:1', '10s:100,'.replace(',', ',,z')])(
    'rejects %j',
    (t) => expect(parseStages(t)).toBeUndefined(),
  )
})

describe('arrival schedule', () => {
  it('a constant rate sends evenly from t=0, every 1000/rate ms', () => {
    const times = all(createArrivalSchedule(constantProfile(200, 1000)))
    expect(times).toHaveLength(200)
    expect(times[0]).toBe(0)
    expect(times[1]).toBeCloseTo(5)
    expect(times[199]).toBeCloseTo(995)
  })

  it('a ramp from 0 to 100/s over 10 s sends the area under it (500) with a rising rate', () => {
    const p = { startRate: 0, stages: [{ durationMs: 10_000, rate: 100 }] }
    const times = all(createArrivalSchedule(p))
    expect(times).toHaveLength(500)
    expect(profileRequests(p)).toBe(500)
    // N(t) = 5 t^2: the first second holds 5 requests, the last one 95
    expect(times.filter((t) => t < 1000)).toHaveLength(5)
    expect(times.filter((t) => t >= 9000)).toHaveLength(95)
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true)
  })

  it('stages follow on: ramp, hold, ramp down', () => {
    const p = {
      startRate: 0,
      stages: [
        { durationMs: 2000, rate: 100 },
        { durationMs: 3000, rate: 100 },
        { durationMs: 1000, rate: 0 },
      ],
    }
    const times = all(createArrivalSchedule(p))
    expect(times).toHaveLength(100 + 300 + 50)
    expect(times.filter((t) => t >= 2000 && t < 5000)).toHaveLength(300)
    expect(times.at(-1)).toBeLessThan(6000)
    expect(profileDurationMs(p)).toBe(6000)
    expect(rateAt(p, 1000)).toBe(50)
    expect(rateAt(p, 5500)).toBe(50)
    expect(rateAt(p, 7000)).toBe(0)
  })

  it('a stage at rate 0 sends nothing and is skipped', () => {
    const p = {
      startRate: 0,
      stages: [
        { durationMs: 1000, rate: 0 },
        { durationMs: 1000, rate: 0 },
      ],
    }
    expect(all(createArrivalSchedule(p))).toEqual([])
  })
})

describe('sliceSchedule', () => {
  it('splits a schedule into interleaved shares whose union is the whole, in order', () => {
    const profile = { startRate: 100, stages: [{ durationMs: 2000, rate: 900 }] }
    const drain = (s: { next(): number | undefined }) => {
      const out: number[] = []
      for (let t = s.next(); t !== undefined; t = s.next()) out.push(t)
      return out
    }
    const whole = drain(createArrivalSchedule(profile))
    const shares = [0, 1, 2].map((index) =>
      drain(sliceSchedule(createArrivalSchedule(profile), { index, count: 3 })),
    )
    expect(shares.map((s) => s.length)).toEqual([334, 333, 333])
    expect(shares[1]).toEqual(whole.filter((_, k) => k % 3 === 1))
    expect(shares.flat().sort((a, b) => a - b)).toEqual(whole)
  })
})
