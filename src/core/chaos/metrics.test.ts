import { describe, expect, it } from 'vitest'
import {
  compare,
  formatComparison,
  parseComparison,
  parseSeriesSelector,
  resolveComparison,
  selectSeries,
} from './metrics.js'
import { judgeThresholds, parseThreshold, summarizeLatencies } from './load-probe.js'
import { paceTime, releaseTime } from './shaping.js'

const TEXT = `# HELP circuit_breaker_state 0 closed, 1 open, 2 half-open
# TYPE circuit_breaker_state gauge
circuit_breaker_state{target="payment"} 1
circuit_breaker_state{target="inventory"} 0
http_requests_total{route="/orders",status="200"} 40
http_requests_total{route="/orders",status="500"} 2
up 1
`

describe('selectSeries', () => {
  it.each([
    ['circuit_breaker_state{target="payment"}', 1, 1],
    ['circuit_breaker_state{target="inventory"}', 0, 1],
    ['http_requests_total', 42, 2],
    ['http_requests_total{status="500"}', 2, 1],
    ['up', 1, 1],
    ['circuit_breaker_state{target="nope"}', 0, 0],
  ])('%s = %d (%d series)', (sel, value, matched) =>
    expect(selectSeries(TEXT, parseSeriesSelector(sel)!)).toEqual({ value, matched }),
  )
  it.each(['1abc', 'x{target=payment}', 'x{'])('rejects selector %j', (s) =>
    expect(parseSeriesSelector(s)).toBeUndefined(),
  )
})

describe('comparisons', () => {
  it.each([
    ['== 1', 1, true],
    ['<0.5', 0.7, false],
    ['>= 10', 10, true],
    ['!= 0', 0, false],
    [3, 3, true],
    ['2', 2, true],
  ] as const)('%j with %d -> %s', (text, v, ok) => expect(compare(v, parseComparison(text)!)).toBe(ok))
  it.each(['about 1', '=> 2', '', '@a-@b', '== @', '== 1 +', '== @a @b'])('rejects %j', (t) =>
    expect(parseComparison(t)).toBeUndefined(),
  )
  it('names other probes: their values are added or taken away once known', () => {
    const c = parseComparison('== @captured - @refunded + 1')!
    expect(c).toMatchObject({
      op: '==',
      value: 1,
      refs: [
        { sign: 1, name: 'captured' },
        { sign: -1, name: 'refunded' },
      ],
    })
    const values = new Map([
      ['captured', 10],
      ['refunded', 3],
    ])
    const r = resolveComparison(c, values)
    expect(r).toEqual({ ok: true, comparison: { op: '==', value: 8 } })
    expect(r.ok && compare(8, r.comparison)).toBe(true)
    expect(r.ok && formatComparison(r.comparison, c)).toBe('== 8 (== @captured - @refunded + 1)')
    expect(resolveComparison(c, new Map([['captured', 10]]))).toEqual({ ok: false, missing: 'refunded' })
    expect(parseComparison('>= -3')).toEqual({ op: '>=', value: -3 })
    expect(parseComparison('< 1e-3')).toEqual({ op: '<', value: 0.001 })
    expect(parseComparison('@stock-reserved')).toMatchObject({ op: '==', refs: [{ name: 'stock-reserved' }] })
  })
})

describe('load thresholds', () => {
  it.each([
    ['p99<300ms', { stat: 'p99', op: '<', value: 300 }],
    ['p95 <= 1s', { stat: 'p95', op: '<=', value: 1000 }],
    ['errors<1%', { stat: 'errors', op: '<', value: 0.01 }],
  ])('%s', (t, out) => expect(parseThreshold(t)).toMatchObject(out))
  it.each(['p99<300', 'errors<1ms', 'p42<1s'])('rejects %j', (t) => expect(parseThreshold(t)).toBeUndefined())
  it('judges a summary', () => {
    const summary = summarizeLatencies([...Array(99).fill(10), 400], 2)
    expect(summary).toMatchObject({ requests: 100, p50: 10, p99: 10, max: 400 })
    expect(
      judgeThresholds(summary, [parseThreshold('p99<300ms')!, parseThreshold('errors<1%')!]).map((j) => j.ok),
    ).toEqual([true, false])
  })
})

describe('proxy shaping', () => {
  it.each([
    [1000, 0, 200, 0, 0.5, 1200],
    [1000, 0, 200, 50, 0, 1150],
    [1000, 0, 200, 50, 1, 1250],
    [1000, 1300, 200, 50, 0, 1300], // never ahead of the previous chunk
  ])('releaseTime(%d, prev %d, %d ± %d, r=%d) = %d', (now, prev, d, j, r, out) =>
    expect(releaseTime(now, prev, d, j, r)).toBe(out),
  )
  it.each([
    [1000, 0, 12_500, 12_500, 2000],
    [1000, 1500, 1250, 12_500, 1600],
  ])('paceTime(%d, busy until %d, %d bytes at %d B/s) = %d', (now, prev, bytes, rate, out) =>
    expect(paceTime(now, prev, bytes, rate)).toBe(out),
  )
})
