/**
 * The phases of a load run with faults (issue #20): `baseline` (no fault, and recovered), `fault`
 * (a fault in force) and `recovery` (from a fault's end until its service answered healthy again,
 * plus a settle time), derived from the run's chaos windows, and the run's figures in each, by when
 * requests were sent. Pure: the windows and each second's encoded histogram in, the phases out.
 */
import { addEncoded, createHistogram, toLatencyStats, type LatencyStats } from './histogram.js'
import type { ChaosWindow, SentSecond } from './report.js'

export const PHASES = ['baseline', 'fault', 'recovery'] as const
export type Phase = (typeof PHASES)[number]

/** How long after a fault's service is healthy again the run still counts as recovering. */
export const DEFAULT_SETTLE_MS = 5_000

/** A stretch of the run in one phase, ms since its start. */
export interface PhaseSpan {
  phase: Phase
  startMs: number
  endMs: number
}

/** A phase's figures: its spans, and the requests sent in its seconds. */
export interface PhaseReport {
  phase: Phase
  spans: PhaseSpan[]
  /** seconds of the run whose requests count in it */
  seconds: number
  requests: number
  errors: number
  errorRate: number
  latency: LatencyStats
}

/** The order in which phases paint over one another: a fault wins over a recovery, which wins over the baseline. */
const RANK: Record<Phase, number> = { baseline: 0, recovery: 1, fault: 2 }

/**
 * The run's time cut into phases. Each window is a fault in force (`startMs`–`endMs`); its recovery
 * runs from the window's end until `recoveredMs` (when its service answered healthy again; the
 * window's end when that was not watched) plus `settleMs`, or to the run's end when the service
 * never recovered (`recovered: false`). Where windows overlap, a fault wins over a recovery. The
 * rest is baseline. Spans are in order, cover [0, runMs), and neighbours differ in phase.
 */
export function phaseSpans(windows: ChaosWindow[], runMs: number, settleMs: number): PhaseSpan[] {
  const marks: { phase: Phase; startMs: number; endMs: number }[] = []
  for (const w of windows) {
    marks.push({ phase: 'fault', startMs: w.startMs, endMs: w.endMs })
    const healthy = w.recovered === false ? runMs : Math.max(w.endMs, w.recoveredMs ?? w.endMs) + settleMs
    marks.push({ phase: 'recovery', startMs: w.endMs, endMs: healthy })
  }
  // every edge of every mark cuts the run; each piece takes the highest-ranked mark over it
  const cuts = [
    ...new Set([0, runMs, ...marks.flatMap((m) => [m.startMs, m.endMs])].filter((t) => t >= 0 && t <= runMs)),
  ].sort((a, b) => a - b)
  const spans: PhaseSpan[] = []
  for (let i = 0; i + 1 < cuts.length; i++) {
    const startMs = cuts[i]!
    const endMs = cuts[i + 1]!
    let phase: Phase = 'baseline'
    for (const m of marks)
      if (m.startMs <= startMs && m.endMs >= endMs && RANK[m.phase] > RANK[phase]) phase = m.phase
    const last = spans[spans.length - 1]
    if (last && last.phase === phase) last.endMs = endMs
    else spans.push({ phase, startMs, endMs })
  }
  return spans
}

/**
 * The phase of second `t` (from t to t+1 s of the run): the highest-ranked phase of any span it
 * touches, so that a second in which a fault began counts in the fault, and the baseline holds
 * only seconds that no fault or recovery touched.
 */
export function phaseOfSecond(spans: PhaseSpan[], t: number): Phase {
  const from = t * 1000
  const to = from + 1000
  let phase: Phase | undefined
  for (const s of spans)
    if (s.startMs < to && s.endMs > from && (!phase || RANK[s.phase] > RANK[phase])) phase = s.phase
  // past the run's last span (a second of draining after the schedule): the last phase
  return phase ?? spans[spans.length - 1]?.phase ?? 'baseline'
}

/**
 * Each phase's figures, from the requests by the second they were sent in (intended, in the open
 * model: a request due during a fault counts in the fault, however late its answer), each second
 * in the phase phaseOfSecond gives it, their histograms added bucket by bucket: a phase's
 * percentiles are exact for its requests. Phases with no span in the run are left out.
 */
export function phaseReports(spans: PhaseSpan[], sent: SentSecond[]): PhaseReport[] {
  return PHASES.flatMap((phase): PhaseReport[] => {
    const own = spans.filter((s) => s.phase === phase)
    if (!own.length) return []
    const h = createHistogram()
    let requests = 0
    let errors = 0
    const seconds = new Set<number>()
    for (const s of sent) {
      if (phaseOfSecond(spans, s.t) !== phase) continue
      seconds.add(s.t)
      requests += s.requests
      errors += s.errors
      addEncoded(h, s.histogram)
    }
    const latency = toLatencyStats(h)
    h.destroy()
    return [
      {
        phase,
        spans: own,
        seconds: seconds.size,
        requests,
        errors,
        errorRate: requests ? errors / requests : 0,
        latency,
      },
    ]
  })
}
