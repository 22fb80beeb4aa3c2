/** Thresholds (`p99<300ms`, `errors<1%`) and their verdict against a run's summary. */
import type { LatencyStats } from './histogram.js'

export const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean'] as const
export type ThresholdStat = (typeof LATENCY_STATS)[number] | 'errors'

export interface Threshold {
  stat: ThresholdStat
  op: '<' | '<='
  /** ms for latencies, a fraction for errors */
  value: number
  text: string
}

const STAT_KEY: Record<(typeof LATENCY_STATS)[number], keyof LatencyStats> = {
  p50: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
  'p99.9': 'p999',
  max: 'max',
  mean: 'mean',
}

/** `p99<300ms`, `p99.9<=1s`, `mean<50ms`, `errors<1%` (k6's words); undefined when it is not one. */
export function parseThreshold(text: string): Threshold | undefined {
  const m = /^\s*(p50|p90|p95|p99\.9|p99|max|mean|errors)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?\s*$/.exec(
    text,
  )
  if (!m) return undefined
  const stat = m[1] as ThresholdStat
  const op = m[2] as '<' | '<='
  const n = Number(m[3])
  const unit = m[4]
  if (stat === 'errors') return unit === '%' ? { stat, op, value: n / 100, text: text.trim() } : undefined
  if (unit !== 'ms' && unit !== 's') return undefined
  return { stat, op, value: unit === 's' ? n * 1000 : n, text: text.trim() }
}

export interface ThresholdResult {
  threshold: string
  ok: boolean
  /** ms, or a fraction for errors */
  actual: number
}

/** Each threshold against the overall latency and error share; no requests at all breaks every threshold. */
export function judgeThresholds(
  run: { requests: number; errors: number; latency: LatencyStats },
  thresholds: Threshold[],
): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual =
      t.stat === 'errors' ? (run.requests ? run.errors / run.requests : 1) : run.latency[STAT_KEY[t.stat]]
    const within = t.op === '<' ? actual < t.value : actual <= t.value
    return { threshold: t.text, ok: run.requests > 0 && within, actual }
  })
}
