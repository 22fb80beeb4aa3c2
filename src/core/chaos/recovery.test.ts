import { describe, expect, it } from 'vitest'
import { computeRecovery, describeRecovery, type RecoverySample } from './recovery.js'

const s = (
  source: RecoverySample['source'],
  sentAt: number,
  ok: boolean,
  target = 'web_1',
  at = sentAt + 5,
): RecoverySample => ({
  source,
  sentAt,
  at,
  ok,
  target,
})

describe('computeRecovery', () => {
  it.each<
    [
      string,
      RecoverySample[],
      { healthyMs?: number; readyMs?: number; recoveredMs?: number; recovered: boolean },
    ]
  >([
    [
      'first pass after the last failure',
      [s('docker', 1000, false), s('docker', 1050, true), s('ready', 1000, false), s('ready', 1100, true)],
      { healthyMs: 55, readyMs: 105, recoveredMs: 105, recovered: true },
    ],
    [
      'a flap does not count',
      [s('docker', 1000, true), s('docker', 1050, false), s('docker', 1100, true), s('ready', 1000, true)],
      { healthyMs: 105, readyMs: 5, recoveredMs: 105, recovered: true },
    ],
    [
      'a hanging probe sent earlier that completes later is ordered by send time',
      [s('docker', 1000, true), s('ready', 1000, true, 'web_1', 1900), s('ready', 1050, true, 'web_1', 1060)],
      { readyMs: 60, recovered: true, recoveredMs: 60 },
    ],
    [
      'samples from before the clock start are ignored',
      [s('docker', 900, false), s('docker', 1000, true), s('ready', 990, false), s('ready', 1010, true)],
      { healthyMs: 5, readyMs: 15, recovered: true },
    ],
    [
      'not recovered without a passing ready',
      [s('docker', 1000, true), s('ready', 1000, false)],
      { healthyMs: 5, recovered: false },
    ],
  ])('%s', (_, samples, expected) =>
    expect(computeRecovery(samples, { from: 1000, targets: ['web_1'] })).toMatchObject(expected),
  )

  it('waits for every target and for the probe', () => {
    const samples = [
      s('docker', 1000, true, 'a'),
      s('docker', 1000, true, 'b', 1300),
      s('ready', 1000, true, 'a'),
      s('ready', 1000, true, 'b'),
      s('probe', 1200, true, 'http://x'),
    ]
    expect(computeRecovery(samples, { from: 1000, targets: ['a', 'b'], probe: 'http://x' })).toMatchObject({
      healthyMs: 300,
      probeMs: 205,
      recoveredMs: 300,
    })
    expect(
      computeRecovery(samples.slice(0, 4), { from: 1000, targets: ['a', 'b'], probe: 'http://x' }).recovered,
    ).toBe(false)
  })
})

describe('a target without /health/ready (a database)', () => {
  it('is back when Docker says healthy, and the description says only that', () => {
    const r = computeRecovery([s('docker', 1000, false), s('docker', 1200, true)], {
      from: 1000,
      targets: ['web_1'],
      ready: false,
    })
    expect(r).toMatchObject({ recovered: true, healthyMs: 205, recoveredMs: 205, ready: false })
    expect(describeRecovery(r, 30_000)).toBe('recovered in 0.20 s (Docker healthy 0.20 s)')
    const withReady = computeRecovery([s('docker', 1000, false), s('docker', 1200, true)], {
      from: 1000,
      targets: ['web_1'],
    })
    expect(withReady.recovered).toBe(false)
  })
})
