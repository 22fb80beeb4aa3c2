/**
 * A saga as `msvc saga` shows it (issue #17): what the owner's `sagas` and `saga_steps` rows say,
 * with the current step named from msvc.yaml. The same shapes as the kit's (packages/kit/src/saga/
 * types.ts), which writes the rows.
 */
export type SagaState = 'running' | 'completed' | 'compensating' | 'compensated' | 'stuck'
export const SAGA_STATES: readonly SagaState[] = [
  'running',
  'completed',
  'compensating',
  'compensated',
  'stuck',
]

/** One attempt of a step or of its compensation. */
export interface SagaAttempt {
  step: string
  phase: 'call' | 'compensate'
  attempt: number
  runner: string
  startedAt: string
  endedAt?: string
  outcome?: string
  error?: string
  durationMs?: number
}

export interface SagaSummary {
  id: string
  name: string
  state: SagaState
  /** the step being called or compensated; absent once completed */
  step?: string
  attempt: number
  failedStep?: string
  error?: string
  createdAt: string
  updatedAt: string
  finishedAt?: string
}

export interface SagaDetails extends SagaSummary {
  input: unknown
  outputs: Record<string, unknown>
  timeline: SagaAttempt[]
}
