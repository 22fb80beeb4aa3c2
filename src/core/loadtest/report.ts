/** The report of one load run (what --json prints and the HTML report draws), and chaos windows on its timeline. */
import { isLastingFault, watchesRecovery } from '../chaos/faults.js'
import type { Journal } from '../chaos/journal.js'
import type { Ledger } from '../chaos/ledger.js'
import type { LatencyStats } from './histogram.js'
import { profileDurationMs, profileRequests, type LoadProfile } from './schedule.js'
import { judgeThresholds, type Threshold, type ThresholdResult } from './thresholds.js'
import { phaseReports, phaseSpans, type PhaseReport } from './phases.js'
import type { FlowReport } from './flow-stats.js'
import { judgeGenerator, type GeneratorReport, type GeneratorUse } from './generator-health.js'

/** How load is sent: on a schedule (open model) or by N connections as fast as answered (closed). */
export type LoadModel =
  | { kind: 'open'; profile: LoadProfile; maxConnections: number }
  | { kind: 'closed'; connections: number; pipelining: number; durationMs: number }

/** What a run of the load generator measured (io/loadtest/generator.ts). */
export interface LoadRunResult {
  startedAt: string
  /** epoch ms of the start */
  startMs: number
  durationMs: number
  requests: number
  errors: number
  /** requests written to a socket, and ms from the start until the last one was */
  sent: number
  sendingMs: number
  latency: LatencyStats
  sendLag?: SendLag
  unfinished: number
  endpoints: EndpointReport[]
  timeline: SecondPoint[]
  connectionsOpened: number
  /** requests sent on a connection that had carried one before */
  connectionsReused: number
  /** the generator's own CPU and event loop use over the run */
  generator: GeneratorUse
  interrupted: boolean
  /** --warmup: what it sent, recorded nowhere else */
  warmup?: WarmupReport
  /** cancelled before the run's clock started: in its warm-up, nothing was measured */
  cutInWarmup?: boolean
  /** the scenario's flows: iterations, end-to-end latency, checks and stops per step */
  flows?: FlowReport[]
  /**
   * when asked (a run with faults): the requests by the second they were sent in (intended, in the
   * open model), for the figures of its phases (phases.ts); not part of the report
   */
  sentSeconds?: SentSecond[]
}

/** The requests sent in second `t` of a run: their count, errors and latencies (encoded). */
export interface SentSecond {
  t: number
  requests: number
  errors: number
  histogram: string
}

export interface EndpointReport {
  name: string
  /** gRPC unary calls; absent for HTTP */
  protocol?: 'grpc'
  /** the HTTP method, or `gRPC` */
  method: string
  /** the request path, or the call's `/package.Service/Method` */
  path: string
  requests: number
  errors: number
  /**
   * responses by status; `0` counts requests that got none (refused, reset, timed out). gRPC calls
   * by status code name (`OK`, `NOT_FOUND`; `CANCELLED` for calls still pending at the end)
   */
  statuses: Record<string, number>
  latency: LatencyStats
}

/** One second of the run, by when responses arrived. */
export interface SecondPoint {
  /** seconds since the start */
  t: number
  /** the schedule's rate in that second (open model) */
  targetRate?: number
  requests: number
  errors: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export interface SendLag {
  /**
   * the generator's own part: how late it handed requests out (to a connection, or to the gRPC
   * client). The rest of the send lag is waiting for a free connection, which the system's slow
   * answers cause (a stalled service holds every connection); only this part says the generator
   * could not keep up (generator-health.ts)
   */
  own?: { p99: number; max: number }
  /** sends measured */
  count: number
  /** sends that left more than `lateAfterMs` after their intended time */
  late: number
  lateAfterMs: number
  p50: number
  p99: number
  max: number
}

export interface ChaosWindow {
  label: string
  /** ms since the run's start: the fault in force (a kill or restart: until its service was back) */
  startMs: number
  endMs: number
  /** ms since the run's start when the fault's service answered healthy again (when watched) */
  recoveredMs?: number
  /** watched, and not healthy again before the run ended */
  recovered?: false
}

export interface LoadReport {
  target: string
  model: 'open' | 'closed'
  startedAt: string
  durationMs: number
  /** open: the schedule's average rate; closed: undefined */
  targetRate?: number
  /** open: requests sent per second of the schedule (longer when sends fell behind); closed: answers per second */
  achievedRate: number
  /** closed: the connections kept open; open: how many were opened during the run */
  connections: number
  /** HTTP connections opened during the run, and requests sent on one that had carried one before */
  connectionsOpened: number
  connectionsReused: number
  /** whether the figures describe the generator rather than the system (generator-health.ts) */
  generator: GeneratorReport
  pipelining?: number
  requests: number
  errors: number
  errorRate: number
  /** open model: latency from the intended send time; closed: from the actual send */
  latency: LatencyStats
  /** open model only: how far actual sends fell behind the schedule */
  sendLag?: SendLag
  /** requests scheduled but never sent or answered before the run ended (in flight at the end) */
  unfinished: number
  endpoints: EndpointReport[]
  /** the scenario's flows (each step's latency and statuses are its row in `endpoints`) */
  flows?: FlowReport[]
  timeline: SecondPoint[]
  thresholds: ThresholdResult[]
  passed: boolean
  chaos: ChaosWindow[]
  /** with faults: the run's figures in its baseline, fault and recovery phases (phases.ts) */
  phases?: PhaseReport[]
  /** how long a recovery phase lasts past its service's return */
  settleMs?: number
  /** `--chaos` faults that could not be applied or undone, one line each; the run then exits 1 */
  chaosFailures?: string[]
  /** `--warmup`: the load sent before the run, counted in none of its figures */
  warmup?: WarmupReport
}

/** What a warm-up sent before the measured run (nothing of it is in the run's figures). */
export interface WarmupReport {
  durationMs: number
  requests: number
  errors: number
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : NaN)

/**
 * Fault windows relative to a run that started at `runStartMs` (epoch ms), from a chaos journal
 * (`msvc chaos run --journal`) or restore ledger: a lasting fault spans from applied to ended; a
 * one-shot fault (kill, restart) spans until the service recovered, or is a 1-second mark.
 */
export function chaosWindows(
  source: Journal | Ledger,
  runStartMs: number,
  runEndMs: number,
  /**
   * the journal of a method still running: a lasting fault not undone yet is in force to the end,
   * and a fault with no recovery yet is still watched (not back)
   */
  watching = false,
): ChaosWindow[] {
  const out: ChaosWindow[] = []
  const push = (label: string, start: number, end: number, back?: { at: number } | false) => {
    if (!Number.isFinite(start)) return
    const e = Number.isFinite(end) && end > start ? end : start + 1000
    if (e < runStartMs || start > runEndMs) return
    out.push({
      label,
      startMs: Math.max(0, start - runStartMs),
      endMs: Math.min(runEndMs, e) - runStartMs,
      ...(back === false ? { recovered: false as const } : {}),
      ...(back && Number.isFinite(back.at) ? { recoveredMs: Math.max(0, back.at - runStartMs) } : {}),
    })
  }
  if ('faults' in source) {
    for (const f of source.faults)
      push(`${f.spec.kind} ${f.service}`, ms(f.appliedAt), ms(f.until) || runEndMs)
    return out
  }
  for (const m of source.method) {
    if (m.type !== 'fault') continue
    const start = ms(m.appliedAt)
    const recovered = m.recovery?.recoveredMs !== undefined ? m.recovery.from + m.recovery.recoveredMs : NaN
    // a lasting fault of a method still running, not undone yet: in force to the end
    const inForce = watching && isLastingFault(m.spec.kind) && !m.endedAt && !m.error
    const ends = [inForce ? runEndMs : ms(m.endedAt), recovered].filter(Number.isFinite)
    const back = m.recovery
      ? m.recovery.recovered
        ? { at: recovered }
        : false
      : watching && watchesRecovery(m.spec.kind) && !m.error
        ? false
        : undefined
    push(`${m.fault} ${m.service}`, start, ends.length ? Math.max(...ends) : NaN, back)
  }
  return out
}

/** How long the model runs: the schedule's length (open) or the duration (closed). */
export const modelDurationMs = (model: LoadModel): number =>
  model.kind === 'open' ? profileDurationMs(model.profile) : model.durationMs

/**
 * The report of a finished run: what it measured, whether that describes the system or the
 * generator, judged against its thresholds, with its fault windows.
 */
export function toLoadReport(o: {
  target: string
  model: LoadModel
  result: LoadRunResult
  thresholds: Threshold[]
  chaos: ChaosWindow[]
  chaosFailures: string[]
  /** how long a recovery phase lasts past its service's return (phases.ts) */
  settleMs: number
  warmup?: WarmupReport
}): LoadReport {
  const { model, result } = o
  const totalMs = modelDurationMs(model)
  const seconds = result.durationMs / 1000
  const generator = judgeGenerator(model.kind, result.generator, result.sendLag)
  const phases =
    o.chaos.length && result.sentSeconds
      ? phaseReports(
          phaseSpans(o.chaos, Math.max(result.durationMs, totalMs), o.settleMs),
          result.sentSeconds,
        )
      : undefined
  const thresholds = judgeThresholds(result, o.thresholds, generator, phases)
  return {
    target: o.target,
    model: model.kind,
    startedAt: result.startedAt,
    durationMs: Math.round(result.durationMs),
    ...(model.kind === 'open' ? { targetRate: profileRequests(model.profile) / (totalMs / 1000) } : {}),
    // open model: what left on schedule, over the schedule (or longer, when sends fell behind it)
    achievedRate:
      model.kind === 'open'
        ? result.sent /
          ((result.interrupted ? result.durationMs : Math.max(totalMs, result.sendingMs)) / 1000)
        : seconds > 0
          ? result.requests / seconds
          : 0,
    connections: model.kind === 'closed' ? model.connections : result.connectionsOpened,
    connectionsOpened: result.connectionsOpened,
    connectionsReused: result.connectionsReused,
    generator,
    ...(model.kind === 'closed' ? { pipelining: model.pipelining } : {}),
    requests: result.requests,
    errors: result.errors,
    errorRate: result.requests ? result.errors / result.requests : 0,
    latency: result.latency,
    ...(result.sendLag ? { sendLag: result.sendLag } : {}),
    unfinished: result.unfinished,
    endpoints: result.endpoints,
    ...(result.flows ? { flows: result.flows } : {}),
    timeline: result.timeline,
    thresholds,
    passed: thresholds.every((t) => t.ok),
    chaos: o.chaos,
    ...(phases ? { phases, settleMs: o.settleMs } : {}),
    ...(o.chaosFailures.length ? { chaosFailures: o.chaosFailures } : {}),
    ...(o.warmup ? { warmup: o.warmup } : {}),
  }
}

/** Requests that got an answer: not status 0 over HTTP; not UNAVAILABLE or CANCELLED (pending at the end) over gRPC. */
export function answeredRequests(endpoints: EndpointReport[]): number {
  return endpoints.reduce(
    (n, e) =>
      n +
      e.requests -
      (e.protocol === 'grpc'
        ? (e.statuses.UNAVAILABLE ?? 0) + (e.statuses.CANCELLED ?? 0)
        : (e.statuses['0'] ?? 0)),
    0,
  )
}
