/**
 * What a run's flows did (flow.ts): per flow, the iterations started, completed and stopped, their
 * end-to-end latency, and per step the checks that passed and failed and why iterations stopped
 * there. Each step's own latency and statuses are an endpoint of the run (recorder.ts), so they
 * are reported and merged like any request's. Pure; workers' reports merge exactly (merge.ts).
 */
import {
  addEncoded,
  createHistogram,
  encodeHistogram,
  recordMs,
  toLatencyStats,
  type Histogram,
  type LatencyStats,
} from './histogram.js'
import { checkName, stepName, type FlowSpec } from './flow.js'

/** A flow's figures in the report (`--json` `flows[]`). */
export interface FlowReport {
  name: string
  /** iterations started (the flow picked by the schedule or a free connection) */
  iterations: number
  /** every step sent and answered with an expected status, every capture found */
  completed: number
  /** stopped before the last step: no answer, an unexpected status, a capture missing, a refused request */
  stopped: number
  /**
   * end to end, completed iterations only: from the first step's intended send time (open model)
   * or its send (closed) to the last step's answer
   */
  latency: LatencyStats
  steps: FlowStepReport[]
}

export interface FlowStepReport {
  name: string
  /** the step's row in `endpoints[]` (its latency, from its own send, and statuses) */
  endpoint: string
  checks: { check: string; passed: number; failed: number }[]
  /** why iterations stopped at this step, with how many did */
  stops: Record<string, number>
}

interface FlowCounts {
  iterations: number
  completed: number
  stopped: number
  e2e: Histogram
  checks: { passed: number; failed: number }[][]
  stops: Map<string, number>[]
}

/** Records what the flows of a run do, as it happens. */
export class FlowRecorder {
  private readonly counts: FlowCounts[]

  constructor(private readonly flows: FlowSpec[]) {
    this.counts = flows.map((f) => ({
      iterations: 0,
      completed: 0,
      stopped: 0,
      e2e: createHistogram(),
      checks: f.steps.map((s) => s.checks.map(() => ({ passed: 0, failed: 0 }))),
      stops: f.steps.map(() => new Map<string, number>()),
    }))
  }

  started(flow: number): void {
    this.counts[flow]!.iterations++
  }

  /** Step `step`'s checks: those at the indexes in `failed` failed, the others passed. */
  checked(flow: number, step: number, failed: readonly number[]): void {
    this.counts[flow]!.checks[step]!.forEach((c, i) => (failed.includes(i) ? c.failed++ : c.passed++))
  }

  /** An iteration stopped at `step`, for `why` (one line, the same for every such stop). */
  stopped(flow: number, step: number, why: string): void {
    const c = this.counts[flow]!
    c.stopped++
    c.stops[step]!.set(why, (c.stops[step]!.get(why) ?? 0) + 1)
  }

  completed(flow: number, latencyMs: number): void {
    const c = this.counts[flow]!
    c.completed++
    recordMs(c.e2e, latencyMs)
  }

  /** The end-to-end histograms, encoded, for a worker to send. */
  histograms(): string[] {
    return this.counts.map((c) => encodeHistogram(c.e2e))
  }

  report(): FlowReport[] {
    return this.flows.map((f, i) => {
      const c = this.counts[i]!
      return {
        name: f.name,
        iterations: c.iterations,
        completed: c.completed,
        stopped: c.stopped,
        latency: toLatencyStats(c.e2e),
        steps: f.steps.map((s, j) => ({
          name: s.name,
          endpoint: stepName(f, s),
          checks: s.checks.map((ch, k) => ({ check: checkName(ch), ...c.checks[j]![k]! })),
          stops: Object.fromEntries(c.stops[j]!),
        })),
      }
    })
  }
}

/** The flows of workers' reports, merged: counts summed, end-to-end histograms added. */
export function mergeFlowReports(reports: FlowReport[][], histograms: string[][]): FlowReport[] {
  const first = reports[0] ?? []
  return first.map((f, i) => {
    const h = createHistogram()
    for (const w of histograms) addEncoded(h, w[i]!)
    const stats = toLatencyStats(h)
    h.destroy()
    const all = reports.map((r) => r[i]!)
    const sum = (pick: (r: FlowReport) => number) => all.reduce((n, r) => n + pick(r), 0)
    const max = Math.max(0, ...all.map((r) => r.latency.max))
    return {
      name: f.name,
      iterations: sum((r) => r.iterations),
      completed: sum((r) => r.completed),
      stopped: sum((r) => r.stopped),
      // the exact largest, as for endpoints (an encoded histogram keeps only its bucket)
      latency: stats.count ? { ...stats, max } : stats,
      steps: f.steps.map((s, j) => {
        const stops: Record<string, number> = {}
        for (const r of all)
          for (const [why, n] of Object.entries(r.steps[j]!.stops)) stops[why] = (stops[why] ?? 0) + n
        return {
          ...s,
          checks: s.checks.map((c, k) => ({
            check: c.check,
            passed: all.reduce((n, r) => n + r.steps[j]!.checks[k]!.passed, 0),
            failed: all.reduce((n, r) => n + r.steps[j]!.checks[k]!.failed, 0),
          })),
          stops,
        }
      }),
    }
  })
}
