import { describe, expect, it } from 'vitest'
import type { LatencyStats } from './histogram.js'
import { judgeThresholds, parseThreshold } from './thresholds.js'

describe('parseThreshold', () => {
  it.each([
    ['p99<300ms', { stat: 'p99', op: '<', value: 300 }],
    ['p99.9 <= 1.5s', { stat: 'p99.9', op: '<=', value: 1500 }],
    ['errors<1%', { stat: 'errors', op: '<', value: 0.01 }],
    ['mean<20ms', { stat: 'mean', op: '<', value: 20 }],
  ])('%s', (text, want) => expect(parseThreshold(text)).toMatchObject(want))

  it.each(['p99<300', 'errors<1ms', 'p98<1s', 'p99>1s', 'rate<5%', ''])('rejects %j', (t) =>
    expect(parseThreshold(t)).toBeUndefined(),
  )
})

describe('judgeThresholds', () => {
  const latency: LatencyStats = {
    count: 1000,
    p50: 2,
    p90: 5,
    p95: 8,
    p99: 40,
    p999: 900,
    max: 1000,
    mean: 4,
  }
  const run = { requests: 1000, errors: 10, latency }
  const judge = (...ts: string[]) =>
    judgeThresholds(
      run,
      ts.map((t) => parseThreshold(t)!),
    )

  it('passes and breaches as stated, with the actual value', () => {
    expect(judge('p99<300ms', 'p99.9<1s', 'errors<2%')).toEqual([
      { threshold: 'p99<300ms', stat: 'p99', ok: true, actual: 40 },
      { threshold: 'p99.9<1s', stat: 'p99.9', ok: true, actual: 900 },
      { threshold: 'errors<2%', stat: 'errors', ok: true, actual: 0.01 },
    ])
    expect(judge('p99<40ms', 'p99<=40ms', 'errors<1%', 'errors<=1%').map((r) => r.ok)).toEqual([
      false,
      true,
      false,
      true,
    ])
  })

  it('a run without requests breaks every threshold', () => {
    expect(judgeThresholds({ requests: 0, errors: 0, latency }, [parseThreshold('p99<1s')!])[0]!.ok).toBe(
      false,
    )
  })
})

describe('judgeThresholds with a saturated generator', () => {
  const latency: LatencyStats = { count: 1000, p50: 2, p90: 5, p95: 8, p99: 40, p999: 60, max: 80, mean: 4 }
  const judge = (sendLagMax: number | undefined, loopDelayMax: number, ...ts: string[]) =>
    judgeThresholds(
      {
        requests: 1000,
        errors: 50,
        latency,
        ...(sendLagMax !== undefined ? { sendLag: { max: sendLagMax } } : {}),
      },
      ts.map((t) => parseThreshold(t)!),
      { saturated: true, loopDelayMax },
    )

  it("trusts a breach larger than the generator's own delays: the system breached it whatever they were", () => {
    // p99 40 ms; sends at most 10 ms late, answers read at most 4 (+1) ms late: the system's p99 is at least 25 ms
    expect(judge(10, 4, 'p99<20ms')).toEqual([{ threshold: 'p99<20ms', stat: 'p99', ok: false, actual: 40 }])
  })

  it("does not trust a breach the send lag and the event loop's hold-ups can explain", () => {
    expect(judge(10, 4, 'p99<30ms', 'p99<=25ms')).toEqual([
      { threshold: 'p99<30ms', stat: 'p99', ok: false, actual: 40, trusted: false },
      { threshold: 'p99<=25ms', stat: 'p99', ok: false, actual: 40, trusted: false },
    ])
  })

  it('in the closed model (no send lag), only the hold-ups are taken off', () => {
    expect(judge(undefined, 30, 'p99<5ms', 'p99<10ms')).toEqual([
      { threshold: 'p99<5ms', stat: 'p99', ok: false, actual: 40 },
      { threshold: 'p99<10ms', stat: 'p99', ok: false, actual: 40, trusted: false },
    ])
  })

  it('always trusts error thresholds and passes', () => {
    expect(judge(100, 50, 'errors<1%', 'p99<1s')).toEqual([
      { threshold: 'errors<1%', stat: 'errors', ok: false, actual: 0.05 },
      { threshold: 'p99<1s', stat: 'p99', ok: true, actual: 40 },
    ])
  })
})

describe('phase thresholds', () => {
  it.each([
    ['baseline:p99<150ms', { phase: 'baseline', stat: 'p99', op: '<', value: 150 }],
    ['fault: errors<5%', { phase: 'fault', stat: 'errors', value: 0.05 }],
    ['recovery:p99<=0.3s', { phase: 'recovery', stat: 'p99', op: '<=', value: 300 }],
  ])('parses %s', (text, want) => expect(parseThreshold(text)).toMatchObject(want))

  it.each(['during:p99<1s', 'fault:', ':p99<1s', 'fault:p99<1'])('rejects %j', (t) =>
    expect(parseThreshold(t)).toBeUndefined(),
  )

  const stats = (p99: number): LatencyStats => ({
    count: 100,
    p50: 1,
    p90: 1,
    p95: 1,
    p99,
    p999: p99,
    max: p99,
    mean: 1,
  })
  const whole = { requests: 300, errors: 40, latency: stats(900) }
  const phases = [
    {
      phase: 'baseline' as const,
      spans: [],
      seconds: 10,
      requests: 100,
      errors: 0,
      errorRate: 0,
      latency: stats(20),
    },
    {
      phase: 'fault' as const,
      spans: [],
      seconds: 3,
      requests: 100,
      errors: 40,
      errorRate: 0.4,
      latency: stats(900),
    },
    {
      phase: 'recovery' as const,
      spans: [],
      seconds: 5,
      requests: 100,
      errors: 0,
      errorRate: 0,
      latency: stats(60),
    },
  ]
  const judge = (...ts: string[]) =>
    judgeThresholds(
      whole,
      ts.map((t) => parseThreshold(t)!),
      undefined,
      phases,
    )

  it('judges each on its phase alone, and names the phase', () => {
    expect(judge('baseline:p99<150ms', 'fault:errors<5%', 'recovery:p99<300ms', 'p99<150ms')).toEqual([
      { threshold: 'baseline:p99<150ms', stat: 'p99', phase: 'baseline', ok: true, actual: 20 },
      { threshold: 'fault:errors<5%', stat: 'errors', phase: 'fault', ok: false, actual: 0.4 },
      { threshold: 'recovery:p99<300ms', stat: 'p99', phase: 'recovery', ok: true, actual: 60 },
      { threshold: 'p99<150ms', stat: 'p99', ok: false, actual: 900 },
    ])
  })

  it('a phase the run did not have breaks its thresholds', () => {
    expect(
      judgeThresholds(whole, [parseThreshold('recovery:p99<300ms')!], undefined, phases.slice(0, 2)),
    ).toEqual([{ threshold: 'recovery:p99<300ms', stat: 'p99', phase: 'recovery', ok: false, actual: 0 }])
  })
})
