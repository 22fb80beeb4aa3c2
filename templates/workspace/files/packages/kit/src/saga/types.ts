import type { Transaction } from '../db/index.js'
import type { Logger } from '../logger.js'

/** `running` → `completed`; `running` → `compensating` → `compensated`; `compensating` → `stuck`. */
export type SagaState = 'running' | 'completed' | 'compensating' | 'compensated' | 'stuck'

/** States no runner takes up again (`stuck` waits for retry()). */
export const FINAL_STATES: ReadonlySet<SagaState> = new Set(['completed', 'compensated'])

/** Whether a saga in `state` has ended for good. */
export const isFinalState = (state: SagaState): boolean => FINAL_STATES.has(state)

/** A step's call, or the call of its compensation. */
export type StepPhase = 'call' | 'compensate'

/**
 * How one attempt ended. `refused`: the callee said no (a 4xx, INVALID_ARGUMENT, NOT_FOUND...), so
 * nothing was applied. `rejected`: the call never left the owner (its breaker for the callee was
 * open, its bulkhead full), so nothing was applied either, but a later attempt may get through. `timeout`, `unavailable` and `error` (a 500, INTERNAL, anything unknown):
 * it may have been applied. `abandoned`: its runner stopped (a crash, a pause, a lost database)
 * before recording the end; the next runner calls again with the same idempotency key.
 */
export type StepOutcome = 'ok' | 'refused' | 'rejected' | 'timeout' | 'unavailable' | 'error' | 'abandoned'

/** What a step's call (or compensation) is given. */
export interface StepContext<I> {
  sagaId: string
  /** the saga's name */
  saga: string
  /** the step's name */
  step: string
  phase: StepPhase
  /** the saga's input, as start() was given it (through JSON) */
  input: I
  /** the answers of the steps completed before, by step name (through JSON) */
  outputs: Readonly<Record<string, unknown>>
  /**
   * `<saga id>:<step>`, or `<saga id>:<step>:compensate`: the same on every attempt and after a
   * crash. Send it with the call (the `idempotency-key` header or metadata).
   */
  idempotencyKey: string
  /** 1 for the first attempt of this call */
  attempt: number
  /** aborted when the attempt's timeout passes (or the orchestrator closes): pass it to the call */
  signal: AbortSignal
  /** the orchestrator's logger with the saga's id, name and the step */
  logger: Logger
}

/** A local step's context: its change runs in `tx`, which also records the step's outcome. */
export interface LocalStepContext<I> extends StepContext<I> {
  tx: Transaction
}

interface StepOptions {
  name: string
  /** the longest one attempt may take (default 5,000 ms) */
  timeoutMs?: number
  /** extra attempts after an error whose outcome is unknown (default 0) */
  retries?: number
}

/** A step that calls another service: its answer is kept in the saga's outputs under its name. */
export interface RemoteSagaStep<I> extends StepOptions {
  local?: false
  call(ctx: StepContext<I>): Promise<unknown>
  /** undoes the call; must accept being called for a call that never applied */
  compensate?(ctx: StepContext<I>): Promise<unknown>
}

/**
 * A step of the owner's own: it runs in the transaction that records its outcome, so its change
 * and the saga's move to the next step commit together. A failed local step was rolled back and
 * is never compensated itself.
 */
export interface LocalSagaStep<I> extends StepOptions {
  local: true
  call(ctx: LocalStepContext<I>): Promise<unknown>
  compensate?(ctx: LocalStepContext<I>): Promise<unknown>
}

export type SagaStep<I> = RemoteSagaStep<I> | LocalSagaStep<I>

/** A saga: its name (unique in the service) and its steps, in order. */
export interface SagaDefinition<I> {
  name: string
  steps: SagaStep<I>[]
}

/** A saga of any input, as the orchestrator holds them (a `SagaDefinition<Order>` is one). */
export type AnySagaDefinition = SagaDefinition<never>

/** Types a saga's definition by its input: `defineSaga<Order>({ name, steps })`. */
export const defineSaga = <I>(definition: SagaDefinition<I>): SagaDefinition<I> => definition

/** One attempt of a step or of its compensation, as `saga_steps` holds it. */
export interface SagaAttempt {
  step: string
  phase: StepPhase
  attempt: number
  runner: string
  startedAt: string
  /** absent while the attempt runs */
  endedAt?: string
  outcome?: StepOutcome
  error?: string
  durationMs?: number
}

/** A saga as `sagas` holds it, times as ISO strings. */
export interface SagaSummary {
  id: string
  name: string
  state: SagaState
  /** the step being called or compensated; absent once completed */
  step?: string
  /** its attempt (1 for the first) */
  attempt: number
  /** the step whose failure started the compensations */
  failedStep?: string
  error?: string
  input: unknown
  outputs: Record<string, unknown>
  runner?: string
  createdAt: string
  updatedAt: string
  /** not before this is its next attempt made (a backoff) */
  nextAttemptAt: string
  finishedAt?: string
}

/** A saga with its timeline, oldest attempt first. */
export interface SagaDetails extends SagaSummary {
  timeline: SagaAttempt[]
}
