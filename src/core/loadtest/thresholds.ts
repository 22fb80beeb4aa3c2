/**
 * Thresholds (`p99<300ms`, `errors<1%`, or one phase's: `fault:errors<5%`) and their verdict
 * against a run's summary.
 */
import type { GeneratorReport } from './generator-health.js'
import { PHASES, type Phase, type PhaseReport } from './phases.js'

/** The resolution the event loop's hold-ups are measured at (monitorEventLoopDelay), ms. */
const LOOP_DELAY_RESOLUTION_MS = 1
import type { LatencyStats } from './histogram.js'

export const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'mean'] as const
export type ThresholdStat = (typeof LATENCY_STATS)[number] | 'errors'

export interface Threshold {
  /** judged on this phase's figures only (a run with faults); the whole run when absent */
  phase?: Phase
  stat: ThresholdStat
  op: '<' | '<='
  /** ms for latencies, a fraction for errors */
  value: number
  text: string
}

const ZERO: LatencyStats = { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 }

const STAT_KEY: Record<(typeof LATENCY_STATS)[number], keyof LatencyStats> = {
  p50: 'p50',
  p90: 'p90',
  p95: 'p95',
  p99: 'p99',
  'p99.9': 'p999',
  max: 'max',
  mean: 'mean',
}

/**
 * `p99<300ms`, `p99.9<=1s`, `mean<50ms`, `errors<1%` (k6's words), each optionally scoped to a
 * phase of a run with faults: `baseline:p99<150ms`, `fault:errors<5%`, `recovery:p99<300ms`;
 * undefined when it is not one.
 */
export function parseThreshold(text: string): Threshold | undefined {
  const m =
    /^\s*(?:([a-z]+)\s*:)?\s*(p50|p90|p95|p99\.9|p99|max|mean|errors)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?\s*$/.exec(
      text,
    )
  if (!m) return undefined
  if (m[1] !== undefined && !(PHASES as readonly string[]).includes(m[1])) return undefined
  const phase = m[1] as Phase | undefined
  const scope = phase ? { phase } : {}
  const stat = m[2] as ThresholdStat
  const op = m[3] as '<' | '<='
  const n = Number(m[4])
  const unit = m[5]
  if (stat === 'errors')
    return unit === '%' ? { ...scope, stat, op, value: n / 100, text: text.trim() } : undefined
  if (unit !== 'ms' && unit !== 's') return undefined
  return { ...scope, stat, op, value: unit === 's' ? n * 1000 : n, text: text.trim() }
}

export interface ThresholdResult {
  threshold: string
  /** what it judges: `errors` (actual is a fraction) or a latency statistic (actual in ms) */
  stat: ThresholdStat
  /** the phase it was judged on */
  phase?: Phase
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
 * late its request left (send lag: the generator's own lateness and any wait for a free
 * connection, which a generator short of CPU causes too) plus how long its answer waited to be
 * read, which is at most the longest the event loop was held up (loopDelayMax, measured to 1 ms).
 * So the system's figure is at least the measured one less the largest send lag, the longest
 * hold-up and 1 ms; the breach is trusted when that floor still breaks the threshold. Error
 * thresholds are always the system's.
 */
export function judgeThresholds(
  whole: { requests: number; errors: number; latency: LatencyStats; sendLag?: { max: number } },
  thresholds: Threshold[],
  generator?: Pick<GeneratorReport, 'saturated' | 'loopDelayMax'>,
  /** the run's phases (a run with faults): a phase's threshold is judged on its figures alone */
  phases?: PhaseReport[],
): ThresholdResult[] {
  return thresholds.map((t) => {
    // a phase the run did not have (no fault, or it ended before a recovery) has no requests: breached
    const scoped = t.phase ? phases?.find((p) => p.phase === t.phase) : undefined
    const run = t.phase
      ? {
          requests: scoped?.requests ?? 0,
          errors: scoped?.errors ?? 0,
          latency: scoped?.latency ?? ZERO,
          sendLag: whole.sendLag,
        }
      : whole
    const phase = t.phase ? { phase: t.phase } : {}
    const actual =
      t.stat === 'errors' ? (run.requests ? run.errors / run.requests : 1) : run.latency[STAT_KEY[t.stat]]
    const within = (x: number) => (t.op === '<' ? x < t.value : x <= t.value)
    const ok = run.requests > 0 && within(actual)
    if (ok || t.stat === 'errors' || !generator?.saturated || run.requests === 0)
      return { threshold: t.text, stat: t.stat, ...phase, ok, actual }
    const systemAtLeast = actual - (run.sendLag?.max ?? 0) - generator.loopDelayMax - LOOP_DELAY_RESOLUTION_MS
    const certain = !within(systemAtLeast)
    return {
      threshold: t.text,
      stat: t.stat,
      ...phase,
      ok,
      actual,
      ...(certain ? {} : { trusted: false as const }),
    }
  })
}
