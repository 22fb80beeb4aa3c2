import type { Database, Queryable } from '../db/index.js'
import { inTransaction } from '../db/transaction.js'
import type { Logger } from '../logger.js'
import { withTimeout } from '../resilience/timeout.js'
import { withSpan } from '../tracing.js'
import type { SagaMetrics } from './metrics.js'
import { decideNext, type SagaPosition, type SagaRetryPolicy, type StepShape } from './plan.js'
import * as store from './store.js'
import type { SagaRow } from './store.js'
import type {
  LocalStepContext,
  AnySagaDefinition,
  SagaStep,
  StepContext,
  StepOutcome,
  StepPhase,
} from './types.js'

/** What an attempt needs of its runner. */
export interface AttemptRunner {
  db: Database
  runner: string
  now: () => number
  random: () => number
  policy: SagaRetryPolicy
  classify: (error: unknown) => Exclude<StepOutcome, 'ok' | 'abandoned'>
  metrics: SagaMetrics
  /** how young the runner's own heartbeat must be for it to make a call */
  freshMs: number
}

/** Thrown inside a local step's transaction when the saga is no longer this runner's: rolls it back. */
class LostSagaError extends Error {
  override name = 'LostSagaError'
}

const DEFAULT_TIMEOUT_MS = 5_000

/**
 * One attempt of a saga's current step (or compensation): records its start (unless the previous
 * attempt's end did: `begun` is its seq), calls it within its timeout (a local step in the
 * transaction that records its end), records its end and the saga's next position, and the start
 * of the next attempt when that one is due at once. Resolves to the saga's new row and that next
 * attempt's seq, or undefined when the saga is no longer this runner's (a compare-and-set refused:
 * nothing of this attempt's outcome was written).
 */
export async function runAttempt(
  r: AttemptRunner,
  row: SagaRow,
  abort: AbortSignal,
  def: AnySagaDefinition,
  shapes: StepShape[],
  sagaLog: Logger,
  begun?: number,
): Promise<{ row: SagaRow; begun: number | undefined } | undefined> {
  const phase: StepPhase = row.state === 'running' ? 'call' : 'compensate'
  const step = def.steps[row.step] as SagaStep<unknown> | undefined
  if (!step) throw new Error(`saga ${row.id} is at step ${row.step}, which ${def.name} does not have`)
  const fn = phase === 'call' ? step.call : step.compensate
  if (!fn) throw new Error(`saga ${row.id} compensates ${step.name}, which has no compensation`)
  const position: SagaPosition = {
    state: row.state,
    step: row.step,
    attempt: row.attempt,
    compensatingFrom: row.compensating_from,
  }
  const log = sagaLog.child({ step: step.name, phase, attempt: row.attempt })
  const seq =
    begun ??
    (await store.beginAttempt(r.db, {
      id: row.id,
      runner: r.runner,
      position,
      step: step.name,
      phase,
      now: r.now(),
      freshMs: r.freshMs,
    }))
  if (seq === undefined) {
    log.warn('saga: no longer held by this runner (taken by another, or its heartbeat is late); not called')
    return undefined
  }
  const ctx = (signal: AbortSignal): StepContext<unknown> => ({
    sagaId: row.id,
    saga: def.name,
    step: step.name,
    phase,
    input: row.input,
    outputs: row.outputs,
    idempotencyKey: phase === 'call' ? `${row.id}:${step.name}` : `${row.id}:${step.name}:compensate`,
    attempt: row.attempt,
    signal,
    logger: log,
  })
  const began = performance.now()
  const record = (
    q: Queryable,
    outcome: Exclude<StepOutcome, 'abandoned'>,
    output: unknown,
    error?: string,
    unknownBefore = false,
  ) => {
    const next = decideNext(shapes, position, outcome, r.policy, r.random, unknownBefore)
    const compensationStarts =
      position.state === 'running' && next.state !== 'running' && next.state !== 'completed'
    // the saga's error: why it compensates, or why it is stuck
    const sagaError =
      compensationStarts || next.state === 'stuck'
        ? `${step.name}${phase === 'compensate' ? ' (compensation)' : ''}: ${error ?? outcome}`
        : undefined
    // the next attempt, when it is due at once: its start is recorded with this one's end
    const following =
      next.delayMs === 0 && (next.state === 'running' || next.state === 'compensating')
        ? (def.steps[next.step] as SagaStep<unknown> | undefined)
        : undefined
    const followingPhase: StepPhase = next.state === 'running' ? 'call' : 'compensate'
    // (not from a local step's transaction: one that commits after its timeout fired would leave
    // a start recorded that no attempt follows)
    const begin =
      !step.local && following && (followingPhase === 'call' || following.compensate)
        ? { step: following.name, phase: followingPhase, freshMs: r.freshMs }
        : undefined
    return {
      next,
      sagaError,
      write: store.finishAttempt(q, {
        id: row.id,
        runner: r.runner,
        seq,
        position,
        next,
        step: step.name,
        outcome,
        error,
        durationMs: performance.now() - began,
        ...(next.keepOutput ? { output } : {}),
        ...(sagaError !== undefined ? { sagaError } : {}),
        ...(begin ? { begin } : {}),
        now: r.now(),
      }),
    }
  }
  // the attempt's own span (a child of the request that started the saga when it runs in it, else
  // a trace of its own): the step's calls are its children, a failure marks it
  const spanName = `saga ${def.name}: ${step.name}${phase === 'compensate' ? ' (compensation)' : ''}`
  const spanAttributes = {
    'saga.id': row.id,
    'saga.name': def.name,
    'saga.step': step.name,
    'saga.phase': phase,
    'saga.attempt': row.attempt,
  }
  const inSpan = <T>(fn: () => Promise<T>) => withSpan(spanName, fn, { attributes: spanAttributes })
  let outcome: Exclude<StepOutcome, 'abandoned'>
  let error: string | undefined
  let output: unknown
  let written:
    | {
        next: ReturnType<typeof decideNext>
        sagaError: string | undefined
        ok: boolean
        begun: number | undefined
      }
    | undefined
  const timeoutMs = step.timeoutMs ?? DEFAULT_TIMEOUT_MS
  try {
    if (step.local) {
      const local = fn as (c: LocalStepContext<unknown>) => Promise<unknown>
      // the step's change and its record in one transaction: both commit or neither does
      written = await withTimeout(
        (signal) =>
          inTransaction(r.db, async (tx) => {
            output = await inSpan(() => local({ ...ctx(signal), tx }))
            const { next, sagaError, write } = record(tx, 'ok', output)
            const done = await write
            if (!done) throw new LostSagaError()
            return { next, sagaError, ok: true, begun: done.begun }
          }),
        timeoutMs,
        abort,
      )
      outcome = 'ok'
    } else {
      output = await withTimeout(
        (signal) => inSpan(() => (fn as (c: StepContext<unknown>) => Promise<unknown>)(ctx(signal))),
        timeoutMs,
        abort,
      )
      outcome = 'ok'
    }
  } catch (e) {
    if (e instanceof LostSagaError) {
      log.warn('saga: taken by another runner during a local step; its change rolled back')
      return undefined
    }
    outcome = r.classify(e)
    error = e instanceof Error ? e.message : String(e)
  }
  const durationS = (performance.now() - began) / 1000
  if (!written) {
    // a call that applied nothing now, after an attempt of the same call whose outcome is unknown
    // (a timeout, an error, or one its runner abandoned): that one may still arrive and apply
    const unknownBefore =
      (outcome === 'refused' || outcome === 'rejected') &&
      phase === 'call' &&
      (await store.hasUnknownAttempt(r.db, row.id, step.name))
    const { next, sagaError, write } = record(r.db, outcome, output, error, unknownBefore)
    const done = await write
    written = { next, sagaError, ok: done !== undefined, begun: done?.begun }
  }
  r.metrics.stepDuration.observe({ saga: def.name, step: step.name, phase, outcome }, durationS)
  if (!written.ok) {
    log.warn({ outcome }, 'saga: taken by another runner during the attempt; its outcome is not recorded')
    await store.closeAttempt(r.db, {
      seq,
      outcome,
      error,
      durationMs: durationS * 1000,
      now: r.now(),
    })
    return undefined
  }
  const next = written.next
  if (outcome === 'ok') log.debug({ durationMs: Math.round(durationS * 1000) }, 'saga: step done')
  else
    log.warn(
      { outcome, error, retryInMs: next.attempt > row.attempt ? next.delayMs : undefined },
      'saga: step failed',
    )
  if (next.state === 'completed') {
    r.metrics.ended.inc({ saga: def.name, outcome: 'completed' })
    sagaLog.info('saga: completed')
  } else if (next.state === 'compensated') {
    r.metrics.ended.inc({ saga: def.name, outcome: 'compensated' })
    sagaLog.warn('saga: compensated')
  } else if (next.state === 'stuck')
    sagaLog.error(
      { error },
      'saga: stuck, a compensation failed every attempt; retry it once the cause is fixed',
    )
  else if (position.state === 'running' && next.state === 'compensating')
    sagaLog.warn({ failedStep: step.name }, 'saga: compensating')
  const outputs = next.keepOutput
    ? { ...row.outputs, [step.name]: JSON.parse(JSON.stringify(output ?? null)) as unknown }
    : row.outputs
  const at = r.now()
  const updated: SagaRow = {
    ...row,
    state: next.state,
    step: next.step,
    attempt: next.attempt,
    compensating_from: next.compensatingFrom,
    outputs,
    updated_at: new Date(at),
    next_attempt_at: new Date(at + next.delayMs),
    finished_at: next.finished ? new Date(at) : null,
    error: written.sagaError ?? row.error,
  }
  return { row: updated, begun: written.begun }
}
