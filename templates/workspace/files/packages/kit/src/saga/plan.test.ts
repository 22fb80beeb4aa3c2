import { describe, expect, it } from 'vitest'
import { decideNext, DEFAULT_RETRY_POLICY, nextCompensation, sagaBackoff, type StepShape } from './plan.js'

const remote = (retries = 0, hasCompensation = true): StepShape => ({
  retries,
  hasCompensation,
  local: false,
})
const local = (retries = 0, hasCompensation = true): StepShape => ({ retries, hasCompensation, local: true })
const mid = () => 0.5
const policy = DEFAULT_RETRY_POLICY

describe('sagaBackoff (equal jitter)', () => {
  it.each([
    [0, 0, 50],
    [0, 0.999, 99],
    [3, 0, 400],
    [3, 0.5, 600],
    [20, 0, 15_000],
    [20, 0.999, 29_985],
  ])('retry %i with random %d waits %i ms (base 100, cap 30 s)', (retry, random, ms) => {
    expect(sagaBackoff(retry, 100, 30_000, () => random)).toBe(ms)
  })

  it('ten compensation attempts span at least 40 s before a saga is stuck', () => {
    let least = 0
    for (let r = 0; r < policy.compensationAttempts - 1; r++)
      least += sagaBackoff(r, policy.compensationBaseMs, policy.compensationMaxMs, () => 0)
    expect(least).toBe(40_500)
  })
})

describe('nextCompensation', () => {
  it('skips steps without a compensation, and says -1 when none is left', () => {
    const steps = [remote(), remote(0, false), remote()]
    expect(nextCompensation(steps, 2)).toBe(2)
    expect(nextCompensation(steps, 1)).toBe(0)
    expect(nextCompensation(steps, -1)).toBe(-1)
    expect(nextCompensation([remote(0, false)], 0)).toBe(-1)
  })
})

describe('decideNext (docs/sagas.md, Semantics)', () => {
  const three = [remote(2), remote(), remote()]
  const running = (step: number, attempt = 1) =>
    ({ state: 'running', step, attempt, compensatingFrom: null }) as const
  const compensating = (step: number, attempt = 1, from = 2) =>
    ({ state: 'compensating', step, attempt, compensatingFrom: from }) as const

  it('a step that succeeded moves to the next, keeping its answer; the last completes the saga', () => {
    expect(decideNext(three, running(0), 'ok', policy, mid)).toMatchObject({
      state: 'running',
      step: 1,
      attempt: 1,
      keepOutput: true,
      finished: false,
      delayMs: 0,
    })
    expect(decideNext(three, running(2), 'ok', policy, mid)).toMatchObject({
      state: 'completed',
      finished: true,
      keepOutput: true,
    })
  })

  it.each(['timeout', 'unavailable', 'error'] as const)(
    'an unknown outcome (%s) is retried with backoff while retries last',
    (outcome) => {
      expect(decideNext(three, running(0, 1), outcome, policy, mid)).toMatchObject({
        state: 'running',
        step: 0,
        attempt: 2,
        delayMs: 75,
      })
      expect(decideNext(three, running(0, 2), outcome, policy, mid)).toMatchObject({
        attempt: 3,
        delayMs: 150,
      })
    },
  )

  it('an unknown outcome with no retry left compensates that step too, then those before', () => {
    // step 0 has 2 retries: its third attempt is its last
    expect(decideNext(three, running(0, 3), 'timeout', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 0,
      attempt: 1,
      compensatingFrom: 0,
    })
    expect(decideNext(three, running(2), 'unavailable', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 2,
      compensatingFrom: 2,
    })
  })

  it('a refusal is not retried and not compensated: the steps before it are', () => {
    expect(decideNext(three, running(2), 'refused', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 1,
      compensatingFrom: 2,
      keepOutput: false,
    })
    // refused at the first step: nothing to undo
    expect(decideNext(three, running(0), 'refused', policy, mid)).toMatchObject({
      state: 'compensated',
      finished: true,
    })
  })

  it('a refusal after an attempt whose outcome is unknown compensates the step too: that attempt may still apply', () => {
    // the first attempt timed out, the retry was refused
    expect(decideNext(three, running(0, 2), 'refused', policy, mid, true)).toMatchObject({
      state: 'compensating',
      step: 0,
      compensatingFrom: 0,
    })
    // the first attempt was abandoned by a runner that died with it in flight
    expect(decideNext(three, running(1, 1), 'refused', policy, mid, true)).toMatchObject({
      state: 'compensating',
      step: 1,
    })
    // a local step's attempts were rolled back, whatever their outcome
    expect(decideNext([remote(), local(1)], running(1, 2), 'refused', policy, mid, true)).toMatchObject({
      state: 'compensating',
      step: 0,
    })
  })

  it('a call that never left (an open breaker) is retried, and compensated only after an unknown attempt', () => {
    // retries left: tried again after a backoff, as an unknown outcome is
    expect(decideNext([remote(2)], running(0, 1), 'rejected', policy, mid)).toMatchObject({
      state: 'running',
      attempt: 2,
    })
    // out of retries, every attempt rejected: nothing applied, the steps before it are compensated
    expect(decideNext(three, running(2, 1), 'rejected', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 1,
      compensatingFrom: 2,
    })
    // out of retries after an attempt that timed out: that one may apply, so this step too
    expect(decideNext(three, running(2, 1), 'rejected', policy, mid, true)).toMatchObject({
      state: 'compensating',
      step: 2,
    })
  })

  it('a local step that failed was rolled back: compensations start below it', () => {
    const steps = [remote(), local(1)]
    expect(decideNext(steps, running(1, 2), 'error', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 0,
      compensatingFrom: 1,
    })
  })

  it('compensations run in reverse, skipping steps without one, and end compensated', () => {
    const steps = [remote(), remote(0, false), remote(), remote()]
    expect(decideNext(steps, compensating(2, 1, 3), 'ok', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 0,
      attempt: 1,
      compensatingFrom: 3,
    })
    expect(decideNext(steps, compensating(0, 4, 3), 'ok', policy, mid)).toMatchObject({
      state: 'compensated',
      finished: true,
      compensatingFrom: 3,
    })
  })

  it('a failed compensation, refused or not, is retried with a capped backoff, then the saga is stuck', () => {
    expect(decideNext(three, compensating(1, 1), 'refused', policy, mid)).toMatchObject({
      state: 'compensating',
      step: 1,
      attempt: 2,
      delayMs: 150,
    })
    expect(decideNext(three, compensating(1, 9), 'timeout', policy, () => 0.999).delayMs).toBeLessThan(30_000)
    expect(decideNext(three, compensating(1, 10), 'timeout', policy, mid)).toMatchObject({
      state: 'stuck',
      step: 1,
      attempt: 10,
      finished: false,
    })
  })

  it('a final or stuck saga makes no attempt', () => {
    expect(() =>
      decideNext(three, { state: 'stuck', step: 0, attempt: 1, compensatingFrom: 0 }, 'ok', policy, mid),
    ).toThrow(/stuck/)
  })
})
