/** Thresholds (`p99<300ms`, `errors<1%`) and their verdict against a run's summary. */
import type { GeneratorReport } from './generator-health.js'

/** The resolution the event loop's hold-ups are measured at (monitorEventLoopDelay), ms. */
const LOOP_DELAY_RESOLUTION_MS = 1
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
  /**
   * false: a latency threshold breached while the generator was saturated, by no more than its own
   * delay can explain, so the breach may be the generator's and not the system's
   */
  trusted?: false
}

/**
 * Each threshold against the overall latency and error share; no requests at all breaks every
 * threshold. With a saturated generator (generator-health.ts), a breached latency threshold is
 * trusted only when the system must have breached it. Every latency is the system's own plus how
 * late its request left (send lag) plus how long its answer waited to be read, which is at most
 * the longest the event loop was held up (loopDelayMax, measured to 1 ms). So the system's figure
 * is at least the measured one less the largest send lag, the longest hold-up and 1 ms; the breach
 * is trusted when that floor still breaks the threshold. Error thresholds are always the system's.
 */
export function judgeThresholds(
  run: { requests: number; errors: number; latency: LatencyStats; sendLag?: { max: number } },
  thresholds: Threshold[],
  generator?: Pick<GeneratorReport, 'saturated' | 'loopDelayMax'>,
): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual =
      t.stat === 'errors' ? (run.requests ? run.errors / run.requests : 1) : run.latency[STAT_KEY[t.stat]]
    const within = (x: number) => (t.op === '<' ? x < t.value : x <= t.value)
    const ok = run.requests > 0 && within(actual)
    if (ok || t.stat === 'errors' || !generator?.saturated || run.requests === 0)
      return { threshold: t.text, ok, actual }
    const systemAtLeast = actual - (run.sendLag?.max ?? 0) - generator.loopDelayMax - LOOP_DELAY_RESOLUTION_MS
    const certain = !within(systemAtLeast)
    return { threshold: t.text, ok, actual, ...(certain ? {} : { trusted: false as const }) }
  })
}
