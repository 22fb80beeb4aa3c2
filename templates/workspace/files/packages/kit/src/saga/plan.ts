import type { SagaState, StepOutcome } from './types.js'

/** Where a saga is: the state, the step being called or compensated, and the attempt. */
export interface SagaPosition {
  state: SagaState
  step: number
  attempt: number
  /** the step whose failure started the compensations */
  compensatingFrom: number | null
}

/** What the plan needs to know of a step. */
export interface StepShape {
  /** extra attempts after an unknown outcome */
  retries: number
  hasCompensation: boolean
  /** runs in the owner's transaction: a failure was rolled back, so it is never compensated itself */
  local: boolean
}

/** Backoff between attempts: delays grow from `baseMs` up to `maxMs`. */
export interface SagaRetryPolicy {
  stepBaseMs: number
  stepMaxMs: number
  compensationBaseMs: number
  /** the longest wait between two attempts of a compensation (30 s) */
  compensationMaxMs: number
  /** attempts of one compensation before the saga is stuck (10) */
  compensationAttempts: number
}

export const DEFAULT_RETRY_POLICY: SagaRetryPolicy = {
  stepBaseMs: 100,
  stepMaxMs: 5_000,
  compensationBaseMs: 200,
  compensationMaxMs: 30_000,
  compensationAttempts: 10,
}

/** The position after an attempt, and how long to wait before the next one. */
export interface SagaDecision extends SagaPosition {
  /** 0 when the next attempt may start at once */
  delayMs: number
  /** the saga ended (completed or compensated) */
  finished: boolean
  /** keep the attempt's answer in the outputs (a step's call that succeeded) */
  keepOutput: boolean
}

/**
 * The delay before retry number `retry` (0 for the first): half of min(max, base·2^retry) plus a
 * random part up to the other half ("equal jitter"). Unlike full jitter, it never collapses to
 * zero, so the attempts of a compensation span a known least time (about 40 s for ten, capped
 * at 30 s) before a saga is declared stuck; the random half spreads the retries of sagas that
 * failed together.
 */
export function sagaBackoff(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** retry)
  return Math.floor(cap / 2 + random() * (cap / 2))
}

/** The last step at or before `from` that has a compensation, or -1 when none is left. */
export function nextCompensation(steps: readonly StepShape[], from: number): number {
  for (let i = Math.min(from, steps.length - 1); i >= 0; i--) if (steps[i]!.hasCompensation) return i
  return -1
}

/** The move to compensating the steps before `failed` (and `failed` itself when `withFailed`). */
function startCompensation(steps: readonly StepShape[], failed: number, withFailed: boolean): SagaDecision {
  const next = nextCompensation(steps, withFailed ? failed : failed - 1)
  if (next < 0)
    return {
      state: 'compensated',
      step: failed,
      attempt: 1,
      compensatingFrom: failed,
      delayMs: 0,
      finished: true,
      keepOutput: false,
    }
  return {
    state: 'compensating',
    step: next,
    attempt: 1,
    compensatingFrom: failed,
    delayMs: 0,
    finished: false,
    keepOutput: false,
  }
}

/**
 * The saga's next position after an attempt at `at` ended with `outcome` (never `abandoned`: an
 * abandoned attempt is made again and does not count). The rules of docs/sagas.md:
 * - a step that succeeded moves to the next step, or completes the saga after the last;
 * - an unknown outcome is retried with backoff while the step's retries last; then the saga
 *   compensates, this step included (it may have been applied), unless it is local (rolled back);
 * - a call that never left the owner (`rejected`: an open breaker) is retried as an unknown one,
 *   but when the retries run out, the step is compensated only if an earlier attempt's outcome
 *   was unknown;
 * - a refusal compensates the steps before it only, unless an earlier attempt of the same call
 *   had an unknown outcome (it timed out, or was abandoned): that attempt may still arrive and
 *   apply, so the step is compensated too (its compensation fences the call's key, runIdempotent);
 * - compensations run in reverse, skipping steps without one; each failure is retried with backoff
 *   (capped) up to `compensationAttempts`, then the saga is `stuck`.
 */
export function decideNext(
  steps: readonly StepShape[],
  at: SagaPosition,
  outcome: Exclude<StepOutcome, 'abandoned'>,
  policy: SagaRetryPolicy,
  random: () => number,
  /**
   * an earlier attempt of this call may have been applied: its outcome was unknown (a timeout, an
   * error, an attempt its runner abandoned), so it may still arrive and apply
   */
  unknownBefore = false,
): SagaDecision {
  const same = { ...at, finished: false, keepOutput: false }
  if (at.state === 'running') {
    const step = steps[at.step]!
    if (outcome === 'ok') {
      const done = at.step + 1 >= steps.length
      return {
        state: done ? 'completed' : 'running',
        step: at.step + 1,
        attempt: 1,
        compensatingFrom: null,
        delayMs: 0,
        finished: done,
        keepOutput: true,
      }
    }
    // refused now, but an earlier attempt's outcome is unknown: that one may still apply
    if (outcome === 'refused') return startCompensation(steps, at.step, unknownBefore && !step.local)
    if (at.attempt < 1 + step.retries)
      return {
        ...same,
        attempt: at.attempt + 1,
        delayMs: sagaBackoff(at.attempt - 1, policy.stepBaseMs, policy.stepMaxMs, random),
      }
    // this attempt may have been applied, unless it never left (then only an earlier one may)
    return startCompensation(steps, at.step, (outcome !== 'rejected' || unknownBefore) && !step.local)
  }
  if (at.state === 'compensating') {
    if (outcome === 'ok') {
      const next = nextCompensation(steps, at.step - 1)
      if (next < 0) return { ...same, state: 'compensated', attempt: 1, delayMs: 0, finished: true }
      return { ...same, step: next, attempt: 1, delayMs: 0 }
    }
    if (at.attempt < policy.compensationAttempts)
      return {
        ...same,
        attempt: at.attempt + 1,
        delayMs: sagaBackoff(at.attempt - 1, policy.compensationBaseMs, policy.compensationMaxMs, random),
      }
    return { ...same, state: 'stuck', delayMs: 0 }
  }
  throw new Error(`a saga in state ${at.state} makes no attempts`)
}
