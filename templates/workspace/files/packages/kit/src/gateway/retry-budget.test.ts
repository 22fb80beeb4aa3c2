import { describe, expect, it } from 'vitest'
import { RetryBudget } from './retry-budget.js'

/** A clock that moves only when told. */
function fakeClock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

/** How many of `n` retries asked for at once the budget allows. */
function granted(budget: RetryBudget, n: number): number {
  let allowed = 0
  for (let k = 0; k < n; k++) if (budget.tryRetry()) allowed++
  return allowed
}

describe('RetryBudget on a fake clock', () => {
  it('allows 10 retries a second without traffic, and 10 more the next second', () => {
    const clock = fakeClock()
    const budget = new RetryBudget({ now: clock.now })
    expect(granted(budget, 50)).toBe(10)
    clock.advance(999)
    expect(granted(budget, 50)).toBe(0)
    clock.advance(1)
    expect(granted(budget, 50)).toBe(10)
  })

  it('allows retries up to 20 % of the requests of the last 10 s', () => {
    const clock = fakeClock()
    const budget = new RetryBudget({ now: clock.now })
    for (let k = 0; k < 1000; k++) budget.recordRequest()
    expect(granted(budget, 1000)).toBe(200)
    // a second later the same requests still count, and so do the retries they paid for
    clock.advance(1000)
    expect(granted(budget, 1000)).toBe(10)
  })

  it('forgets requests and retries older than the window', () => {
    const clock = fakeClock()
    const budget = new RetryBudget({ now: clock.now })
    for (let k = 0; k < 500; k++) budget.recordRequest()
    clock.advance(5000)
    for (let k = 0; k < 500; k++) budget.recordRequest()
    expect(granted(budget, 1000)).toBe(200)
    // 5 s on, the first 500 requests are out of the window but the 200 retries are not
    clock.advance(5000)
    expect(granted(budget, 1000)).toBe(10)
    // and 10 s after the retries, they are gone too: 20 % of nothing, plus the floor
    clock.advance(10_000)
    expect(granted(budget, 1000)).toBe(10)
  })

  it('keeps the ratio under steady load: one retry for five requests', () => {
    const clock = fakeClock()
    const budget = new RetryBudget({ now: clock.now, minPerSec: 0 })
    let allowed = 0
    for (let second = 0; second < 60; second++) {
      for (let k = 0; k < 100; k++) {
        budget.recordRequest()
        if (budget.tryRetry()) allowed++
      }
      clock.advance(1000)
    }
    expect(allowed).toBeGreaterThan(60 * 100 * 0.19)
    expect(allowed).toBeLessThanOrEqual(60 * 100 * 0.2 + 1)
  })

  it('takes its ratio, floor and window as options', () => {
    const clock = fakeClock()
    const budget = new RetryBudget({ now: clock.now, ratio: 0.5, minPerSec: 0, windowSec: 2 })
    for (let k = 0; k < 10; k++) budget.recordRequest()
    expect(granted(budget, 100)).toBe(5)
    clock.advance(2000)
    expect(granted(budget, 100)).toBe(0)
  })
})
