/**
 * A load probe's summary and verdict (the run itself is the load generator's, behind a seam). Its
 * thresholds are `msvc loadtest`'s (src/core/loadtest/thresholds.ts): `p99<300ms`, `errors<1%`,
 * and, for a probe in the method that runs while faults are in force, one phase's:
 * `fault:errors<5%`, `recovery:p99<300ms`.
 */
import type { PhaseReport } from '../loadtest/phases.js'
import { judgeThresholds as judgeRun, type Threshold } from '../loadtest/thresholds.js'

export { parseThreshold, type Threshold } from '../loadtest/thresholds.js'

/** What a load run reports back to the probe. */
export interface LoadSummary {
  requests: number
  errors: number
  /** latency percentiles in ms, measured from the intended send time */
  p50: number
  p90: number
  p95: number
  p99: number
  p999: number
  max: number
  mean: number
}

/** Percentiles (nearest rank) of latencies in ms. */
export function summarizeLatencies(latencies: number[], errors: number): LoadSummary {
  const s = [...latencies].sort((a, b) => a - b)
  const pick = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : 0)
  return {
    requests: latencies.length,
    errors,
    p50: pick(0.5),
    p90: pick(0.9),
    p95: pick(0.95),
    p99: pick(0.99),
    p999: pick(0.999),
    max: s.at(-1) ?? 0,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0,
  }
}

/** Each threshold against a summary (a phase's against its figures); errors are a share of requests. */
export function judgeThresholds(
  summary: LoadSummary,
  thresholds: Threshold[],
  phases?: PhaseReport[],
): { threshold: string; ok: boolean; actual: number; phase?: string }[] {
  const { requests, errors, ...latency } = summary
  return judgeRun(
    { requests, errors, latency: { count: requests, ...latency } },
    thresholds,
    undefined,
    phases,
  )
}
