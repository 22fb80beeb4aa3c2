import { describe, expect, it } from 'vitest'
import { createHistogram, encodeHistogram, recordMs } from './histogram.js'
import { phaseOfSecond, phaseReports, phaseSpans } from './phases.js'
import type { SentSecond } from './report.js'

describe('phaseSpans', () => {
  it('a kill: fault until its service is back, recovery for the settle time, baseline around', () => {
    expect(
      phaseSpans(
        [{ label: 'kill payment', startMs: 10_000, endMs: 13_000, recoveredMs: 13_000 }],
        30_000,
        5000,
      ),
    ).toEqual([
      { phase: 'baseline', startMs: 0, endMs: 10_000 },
      { phase: 'fault', startMs: 10_000, endMs: 13_000 },
      { phase: 'recovery', startMs: 13_000, endMs: 18_000 },
      { phase: 'baseline', startMs: 18_000, endMs: 30_000 },
    ])
  })

  it('a lasting fault: recovery from its end until healthy again, plus the settle time', () => {
    expect(
      phaseSpans([{ label: 'pause order', startMs: 2000, endMs: 4000, recoveredMs: 4600 }], 10_000, 1000),
    ).toEqual([
      { phase: 'baseline', startMs: 0, endMs: 2000 },
      { phase: 'fault', startMs: 2000, endMs: 4000 },
      { phase: 'recovery', startMs: 4000, endMs: 5600 },
      { phase: 'baseline', startMs: 5600, endMs: 10_000 },
    ])
  })

  it('unwatched: recovery is the settle time; never healthy again: recovery to the end', () => {
    expect(phaseSpans([{ label: 'latency x 200ms', startMs: 1000, endMs: 2000 }], 6000, 500)).toEqual([
      { phase: 'baseline', startMs: 0, endMs: 1000 },
      { phase: 'fault', startMs: 1000, endMs: 2000 },
      { phase: 'recovery', startMs: 2000, endMs: 2500 },
      { phase: 'baseline', startMs: 2500, endMs: 6000 },
    ])
    expect(
      phaseSpans([{ label: 'kill x', startMs: 1000, endMs: 2000, recovered: false }], 6000, 500),
    ).toEqual([
      { phase: 'baseline', startMs: 0, endMs: 1000 },
      { phase: 'fault', startMs: 1000, endMs: 2000 },
      { phase: 'recovery', startMs: 2000, endMs: 6000 },
    ])
  })

  it('overlapping windows: a fault wins over a recovery; a recovery past the run is cut at its end', () => {
    expect(
      phaseSpans(
        [
          { label: 'kill a', startMs: 1000, endMs: 2000, recoveredMs: 2000 },
          { label: 'pause b', startMs: 3000, endMs: 5000 },
        ],
        6000,
        2000,
      ),
    ).toEqual([
      { phase: 'baseline', startMs: 0, endMs: 1000 },
      { phase: 'fault', startMs: 1000, endMs: 2000 },
      { phase: 'recovery', startMs: 2000, endMs: 3000 },
      { phase: 'fault', startMs: 3000, endMs: 5000 },
      { phase: 'recovery', startMs: 5000, endMs: 6000 },
    ])
  })

  it('no windows: the whole run is baseline', () => {
    expect(phaseSpans([], 5000, 5000)).toEqual([{ phase: 'baseline', startMs: 0, endMs: 5000 }])
  })
})

describe('phaseOfSecond', () => {
  // a fault from 2.9 s to 3.1 s, its recovery to 4.1 s
  const spans = phaseSpans([{ label: 'kill a', startMs: 2900, endMs: 3100, recoveredMs: 3100 }], 8000, 1000)
  it.each([
    [0, 'baseline'],
    [1, 'baseline'],
    // touched by the fault for 0.1 s: the fault's (the baseline keeps only untouched seconds)
    [2, 'fault'],
    [3, 'fault'],
    // touched by the recovery for 0.1 s
    [4, 'recovery'],
    [5, 'baseline'],
    // a second of draining past the run: the last phase
    [9, 'baseline'],
  ] as const)('second %i is %s', (t, phase) => expect(phaseOfSecond(spans, t)).toBe(phase))
})

describe('phaseReports', () => {
  const second = (t: number, latencies: number[], errors = 0): SentSecond => {
    const h = createHistogram()
    for (const l of latencies) recordMs(h, l)
    const histogram = encodeHistogram(h)
    h.destroy()
    return { t, requests: latencies.length, errors, histogram }
  }

  it('adds the seconds of each phase bucket by bucket: exact percentiles, errors and counts', () => {
    const seconds = [
      second(0, [10, 10, 10, 10]),
      second(1, [12, 12, 12, 12]),
      second(2, [900, 1000, 1100, 1200], 3),
      second(3, [50, 60, 70, 80], 1),
      second(4, [11, 11, 11, 11]),
    ]
    const spans = phaseSpans([{ label: 'kill a', startMs: 2000, endMs: 3000, recoveredMs: 3000 }], 5000, 1000)
    // a second may come in pieces (from two workers, or sealed before a late answer)
    const reports = phaseReports(spans, [...seconds, second(0, [10])])
    expect(reports.map((r) => [r.phase, r.seconds, r.requests, r.errors])).toEqual([
      ['baseline', 3, 13, 0],
      ['fault', 1, 4, 3],
      ['recovery', 1, 4, 1],
    ])
    const [baseline, fault, recovery] = reports
    expect(baseline!.latency.p50).toBeCloseTo(11, 1)
    expect(baseline!.latency.max).toBeCloseTo(12, 1)
    expect(fault!.errorRate).toBe(0.75)
    expect(fault!.latency.p50).toBeCloseTo(1000, -1)
    expect(fault!.latency.max).toBeCloseTo(1200, -1)
    expect(recovery!.latency.max).toBeCloseTo(80, 0)
  })

  it('a phase that the run never reached is left out', () => {
    const spans = phaseSpans([{ label: 'kill a', startMs: 1000, endMs: 3000, recovered: false }], 3000, 1000)
    expect(phaseReports(spans, [second(0, [5])]).map((r) => r.phase)).toEqual(['baseline', 'fault'])
  })
})
