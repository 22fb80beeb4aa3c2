/** A load probe's thresholds and verdict (the run itself is the load generator's, behind a seam). */

export type LoadStat = 'p50' | 'p90' | 'p95' | 'p99' | 'max' | 'mean' | 'errors'

export interface Threshold {
  stat: LoadStat
  op: '<' | '<='
  /** ms for latencies, a fraction for errors */
  value: number
  text: string
}

/** `p99<300ms`, `p95<=1s`, `errors<1%` (k6's words). */
export function parseThreshold(text: string): Threshold | undefined {
  const m = /^\s*(p50|p90|p95|p99|max|mean|errors)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?\s*$/.exec(text)
  if (!m) return undefined
  const stat = m[1] as LoadStat
  const n = Number(m[3])
  const unit = m[4]
  if (stat === 'errors') {
    if (unit !== '%') return undefined
    return { stat, op: m[2] as '<' | '<=', value: n / 100, text: text.trim() }
  }
  if (unit !== 'ms' && unit !== 's') return undefined
  return { stat, op: m[2] as '<' | '<=', value: unit === 's' ? n * 1000 : n, text: text.trim() }
}

/** What a load run reports back to the probe. */
export interface LoadSummary {
  requests: number
  errors: number
  /** latency percentiles in ms, measured from the intended send time */
  p50: number
  p90: number
  p95: number
  p99: number
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
    max: s.at(-1) ?? 0,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0,
  }
}

/** Each threshold against a summary; errors are a share of requests. */
export function judgeThresholds(
  summary: LoadSummary,
  thresholds: Threshold[],
): { threshold: string; ok: boolean; actual: number }[] {
  return thresholds.map((t) => {
    const actual =
      t.stat === 'errors' ? (summary.requests ? summary.errors / summary.requests : 1) : summary[t.stat]
    return { threshold: t.text, ok: t.op === '<' ? actual < t.value : actual <= t.value, actual }
  })
}
