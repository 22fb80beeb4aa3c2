import { EXIT } from '../errors.js'
import type { FaultSpec } from './faults.js'
import type { RecoveryReport } from './recovery.js'

/** What one probe found. */
export interface ProbeResult {
  name: string
  type: 'http' | 'metric' | 'load'
  ok: boolean
  /** status code, metric value, or the load summary */
  value?: unknown
  detail: string
  startedAt: string
  durationMs: number
  /** method probes with `within`: how many tries */
  attempts?: number
}

export interface FaultRecord {
  type: 'fault'
  atMs: number
  service: string
  fault: string
  spec: FaultSpec
  targets: string[]
  appliedAt?: string
  applyMs?: number
  endedAt?: string
  recovery?: RecoveryReport
  error?: string
  notes?: string[]
}

export interface ProbeRecord {
  type: 'probe'
  atMs: number
  result: ProbeResult
}

export type Verdict = 'held' | 'violated' | 'aborted' | 'failed' | 'interrupted'

/** The journal of one `msvc chaos run`: every probe, fault and timing, and the verdict. */
export interface Journal {
  msvc: string
  experiment: { file: string; title: string; description?: string }
  workspace: string
  startedAt: string
  endedAt?: string
  durationMs?: number
  verdict?: Verdict
  exitCode?: number
  reasons: string[]
  steadyStateBefore?: { met: boolean; probes: ProbeResult[] }
  method: (FaultRecord | ProbeRecord)[]
  steadyStateAfter?: { met: boolean; probes: ProbeResult[] }
  rollbacks: { action: string; service: string; ok: boolean; detail: string }[]
  error?: string
}

/**
 * The verdict (STYLE.md §5 exit codes): cancelled 130; msvc failed 1; not steady before, so
 * nothing was tested, 1; the hypothesis after, or a method probe, failed 2; otherwise it held, 0.
 */
export function judgeExperiment(
  j: Pick<Journal, 'steadyStateBefore' | 'steadyStateAfter' | 'method' | 'error'> & { interrupted?: boolean },
): {
  verdict: Verdict
  exitCode: number
  reasons: string[]
} {
  const failedNames = (ps?: { probes: ProbeResult[] }) =>
    (ps?.probes ?? []).filter((p) => !p.ok).map((p) => `${p.name}: ${p.detail}`)
  if (j.interrupted)
    return { verdict: 'interrupted', exitCode: EXIT.cancelled, reasons: ['cancelled; faults were restored'] }
  if (j.error) return { verdict: 'failed', exitCode: EXIT.failed, reasons: [j.error] }
  if (!j.steadyStateBefore?.met)
    return {
      verdict: 'aborted',
      exitCode: EXIT.failed,
      reasons: failedNames(j.steadyStateBefore).map((r) => `not steady before the experiment: ${r}`),
    }
  const reasons = [
    ...j.method
      .filter((m): m is ProbeRecord => m.type === 'probe' && !m.result.ok)
      .map((m) => `during the method: ${m.result.name}: ${m.result.detail}`),
    ...j.method
      .filter((m): m is FaultRecord => m.type === 'fault' && !!m.error)
      .map((m) => `fault ${m.fault} on ${m.service} failed: ${m.error}`),
    ...failedNames(j.steadyStateAfter).map((r) => `after the method: ${r}`),
  ]
  if (!j.steadyStateAfter?.met || reasons.length)
    return { verdict: 'violated', exitCode: EXIT.breached, reasons }
  return { verdict: 'held', exitCode: EXIT.ok, reasons: [] }
}
