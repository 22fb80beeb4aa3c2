/**
 * One run's result from the results of its workers (`msvc loadtest --workers N`): counts summed,
 * histograms added bucket by bucket, so that every percentile is the one a single generator that
 * recorded every sample would report, and the per-second timeline built the same way from each
 * second's histograms. Pure: the workers' histograms arrive encoded (histogram.ts).
 */
import {
  addEncoded,
  createHistogram,
  toLatencyStats,
  toPointStats,
  type Histogram,
  type LatencyStats,
} from './histogram.js'
import { mergeFlowReports } from './flow-stats.js'
import type { EndpointReport, LoadRunResult, SecondPoint, SentSecond } from './report.js'

/** What a worker sends of one second of its run. */
export interface WorkerSecond {
  t: number
  targetRate?: number
  requests: number
  errors: number
  /** that second's latencies, encoded */
  histogram: string
  /** its largest latency, exact (an encoded histogram keeps only its bucket) */
  max: number
}

/** A worker's encoded histograms at the end of its run, with their exact maxima. */
export interface WorkerHistograms {
  overall: string
  /** per endpoint, in the run's endpoint order */
  endpoints: string[]
  lag?: string
  /** open model: how late requests were handed out (SendLag.own) */
  handedOut?: string
  /** per flow, its end-to-end latencies (flow-stats.ts) */
  flows?: string[]
  /** a run's phases: the requests by the second they were sent in */
  sent?: SentSecond[]
}

/** A worker's finished run. */
export interface WorkerResult {
  result: LoadRunResult
  histograms: WorkerHistograms
}

/**
 * Seconds from every worker, merged: a second is complete once each worker has sent it, and is
 * then returned (for the live line); the rest come out of flush() at the end.
 */
export class SecondsMerger {
  private readonly pending = new Map<number, { seen: number; point: WorkerSecond; h: Histogram }>()
  private readonly done: SecondPoint[] = []

  constructor(private readonly workers: number) {}

  /** A worker's second; returns the merged second when this was the last worker to send it. */
  add(s: WorkerSecond): SecondPoint | undefined {
    let p = this.pending.get(s.t)
    if (!p) {
      p = { seen: 0, point: { ...s, requests: 0, errors: 0, max: 0 }, h: createHistogram() }
      this.pending.set(s.t, p)
    }
    p.seen++
    p.point.requests += s.requests
    p.point.errors += s.errors
    p.point.max = Math.max(p.point.max, s.max)
    addEncoded(p.h, s.histogram)
    if (p.seen < this.workers) return undefined
    return this.close(s.t)
  }

  /** Every second, complete or not (a worker whose last second was empty sends none), in order. */
  flush(): SecondPoint[] {
    for (const t of [...this.pending.keys()].sort((a, b) => a - b)) this.close(t)
    return [...this.done].sort((a, b) => a.t - b.t)
  }

  private close(t: number): SecondPoint {
    const p = this.pending.get(t)!
    this.pending.delete(t)
    const stats = toPointStats(p.h)
    p.h.destroy()
    const point: SecondPoint = {
      t,
      ...(p.point.targetRate !== undefined ? { targetRate: p.point.targetRate } : {}),
      requests: p.point.requests,
      errors: p.point.errors,
      p50: stats.p50,
      p90: stats.p90,
      p99: stats.p99,
      p999: stats.p999,
      max: p.point.max,
    }
    this.done.push(point)
    return point
  }
}

/** Histograms of `encoded`, added, as latency stats with the exact `max`. */
function mergedStats(encoded: string[], max: number): LatencyStats {
  const h = createHistogram()
  for (const e of encoded) addEncoded(h, e)
  const stats = toLatencyStats(h)
  h.destroy()
  return stats.count ? { ...stats, max } : stats
}

/**
 * The run's result from its workers' results and merged timeline. `run` is what only the main
 * thread knows: when the run started and how long it took, the generator's use of the process
 * (every thread), and whether it was cancelled.
 */
export function mergeWorkerResults(
  workers: WorkerResult[],
  timeline: SecondPoint[],
  run: Pick<LoadRunResult, 'startedAt' | 'startMs' | 'durationMs' | 'generator' | 'interrupted'>,
): LoadRunResult {
  const sum = (f: (r: LoadRunResult) => number) => workers.reduce((n, w) => n + f(w.result), 0)
  const maxOf = (f: (r: LoadRunResult) => number) => Math.max(0, ...workers.map((w) => f(w.result)))
  const first = workers[0]!.result
  const endpoints = first.endpoints.map((e, i): EndpointReport => {
    const statuses: Record<string, number> = {}
    for (const w of workers)
      for (const [s, n] of Object.entries(w.result.endpoints[i]!.statuses))
        statuses[s] = (statuses[s] ?? 0) + n
    return {
      ...e,
      requests: sum((r) => r.endpoints[i]!.requests),
      errors: sum((r) => r.endpoints[i]!.errors),
      statuses,
      latency: mergedStats(
        workers.map((w) => w.histograms.endpoints[i]!),
        maxOf((r) => r.endpoints[i]!.latency.max),
      ),
    }
  })
  const lags = workers.flatMap((w) => (w.histograms.lag ? [w.histograms.lag] : []))
  const lag =
    first.sendLag && lags.length
      ? mergedStats(
          lags,
          maxOf((r) => r.sendLag?.max ?? 0),
        )
      : undefined
  const handed = workers.flatMap((w) => (w.histograms.handedOut ? [w.histograms.handedOut] : []))
  const own = handed.length
    ? mergedStats(
        handed,
        maxOf((r) => r.sendLag?.own?.max ?? 0),
      )
    : undefined
  return {
    startedAt: run.startedAt,
    startMs: run.startMs,
    durationMs: run.durationMs,
    requests: sum((r) => r.requests),
    errors: sum((r) => r.errors),
    sent: sum((r) => r.sent),
    sendingMs: maxOf((r) => r.sendingMs),
    latency: mergedStats(
      workers.map((w) => w.histograms.overall),
      maxOf((r) => r.latency.max),
    ),
    ...(lag && first.sendLag
      ? {
          sendLag: {
            count: lag.count,
            late: sum((r) => r.sendLag?.late ?? 0),
            lateAfterMs: first.sendLag.lateAfterMs,
            p50: lag.p50,
            p99: lag.p99,
            max: lag.max,
            ...(own?.count ? { own: { p99: own.p99, max: own.max } } : {}),
          },
        }
      : {}),
    unfinished: sum((r) => r.unfinished),
    endpoints,
    timeline,
    ...(workers.some((w) => w.histograms.sent)
      ? { sentSeconds: workers.flatMap((w) => w.histograms.sent ?? []) }
      : {}),
    connectionsOpened: sum((r) => r.connectionsOpened),
    connectionsReused: sum((r) => r.connectionsReused),
    generator: run.generator,
    interrupted: run.interrupted || workers.some((w) => w.result.interrupted),
    ...(first.flows
      ? {
          flows: mergeFlowReports(
            workers.map((w) => w.result.flows ?? []),
            workers.map((w) => w.histograms.flows ?? []),
          ),
        }
      : {}),
    ...(first.warmup
      ? {
          warmup: {
            durationMs: maxOf((r) => r.warmup?.durationMs ?? 0),
            requests: sum((r) => r.warmup?.requests ?? 0),
            errors: sum((r) => r.warmup?.errors ?? 0),
          },
        }
      : {}),
    ...(workers.some((w) => w.result.cutInWarmup) ? { cutInWarmup: true } : {}),
  }
}
