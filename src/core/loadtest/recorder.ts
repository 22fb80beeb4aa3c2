/**
 * What a load run measures, as it happens: each answer's latency and status per endpoint, the
 * per-second timeline, and (open model) how far sends fell behind the schedule; then the run's
 * result. Pure: the load generator (io/loadtest/generator.ts) owns the sockets and the clock and
 * tells the recorder what happened and when.
 */
import {
  createHistogram,
  encodeHistogram,
  recordMs,
  toLatencyStats,
  toPointStats,
  type Histogram,
} from './histogram.js'
import type { WorkerHistograms, WorkerSecond } from './merge.js'
import { grpcCodeName } from './grpc-status.js'
import type { GeneratorUse } from './generator-health.js'
import type { EndpointReport, LoadRunResult, SecondPoint, SentSecond } from './report.js'

/** One kind of request of the run: its name, how it is reported, and which statuses are expected. */
export interface RecordedEndpoint {
  name: string
  method: string
  path: string
  grpc: boolean
  /** is status `s` expected? (HTTP 100-599, 0 for no answer; gRPC codes 0-16, 0 is OK) */
  expects(s: number): boolean
}

interface EndpointStats {
  h: Histogram | undefined
  requests: number
  errors: number
  /** responses by status, 0 for none */
  statuses: Uint32Array
  ok: Uint8Array
}

/** Where a status is counted: 100-599 as themselves, anything else (0: no answer) in 0. */
const statusSlot = (status: number): number => (status > 0 && status < 600 ? status : 0)

export class RunRecorder {
  requests = 0
  errors = 0
  /** open model: sends more than lateAfterMs behind their schedule */
  late = 0
  private readonly overall = createHistogram()
  private readonly second = createHistogram()
  private readonly lag: Histogram | undefined
  private readonly handedOut: Histogram | undefined
  private readonly stats: EndpointStats[]
  private secondRequests = 0
  private secondErrors = 0
  private secondIndex = 0
  readonly timeline: SecondPoint[] = []
  private readonly bySent:
    | {
        holdS: number
        open: Map<number, { h: Histogram; requests: number; errors: number }>
        sealed: SentSecond[]
      }
    | undefined

  constructor(
    private readonly endpoints: RecordedEndpoint[],
    /** open model: record send lag (sends later than this count as late) */
    private readonly lateAfterMs?: number,
    /** a worker of a run (merge.ts): each second's histogram, encoded, as it closes */
    private readonly exportSecond?: (s: WorkerSecond) => void,
    /**
     * a run's phases: also record by the second each request was sent in (intended, in the open
     * model), each second's histogram encoded (~0.2 ms, ~3 KB) once `holdS` seconds have passed
     * since (no answer comes later than the timeout)
     */
    bySent?: { holdS: number },
  ) {
    this.bySent = bySent ? { holdS: bySent.holdS, open: new Map(), sealed: [] } : undefined
    this.lag = lateAfterMs !== undefined ? createHistogram() : undefined
    this.handedOut = lateAfterMs !== undefined ? createHistogram() : undefined
    // one endpoint: its histogram is the overall one, filled from the per-second ones
    const single = endpoints.length === 1
    this.stats = endpoints.map((e) => {
      const ok = new Uint8Array(600)
      for (let s = 0; s < 600; s++) ok[s] = e.expects(s) ? 1 : 0
      return {
        h: single ? undefined : createHistogram(),
        requests: 0,
        errors: 0,
        statuses: new Uint32Array(600),
        ok,
      }
    })
  }

  /**
   * A request of endpoint `ep` ended with `status` (0: no answer over HTTP) after `latencyMs`;
   * `failed`: an error whatever its status (a flow step's failed check or missing capture).
   */
  answer(ep: number, status: number, latencyMs: number, failed = false, sentAtMs?: number): void {
    const e = this.stats[ep]!
    recordMs(this.second, latencyMs)
    if (e.h) recordMs(e.h, latencyMs)
    e.requests++
    this.requests++
    this.secondRequests++
    const st = statusSlot(status)
    e.statuses[st]!++
    const error = failed || !e.ok[st]
    if (error) {
      e.errors++
      this.errors++
      this.secondErrors++
    }
    if (this.bySent && sentAtMs !== undefined) {
      // a time due on a second's edge (t0 + 2000 less t0) may come out a hair under it: a
      // nanosecond's slack keeps it in its second
      const s = this.sentSecond(Math.floor(sentAtMs / 1000 + 1e-9))
      recordMs(s.h, latencyMs)
      s.requests++
      if (error) s.errors++
    }
  }

  /** Would `answer` count this one an error? (a warm-up's answers are counted, not recorded) */
  isError(ep: number, status: number, failed = false): boolean {
    return failed || !this.stats[ep]!.ok[statusSlot(status)]
  }

  /** The record of the requests sent in second `t` (t < 0: before the clock, counted in 0). */
  private sentSecond(t: number) {
    const open = this.bySent!.open
    const at = t < 0 ? 0 : t
    let s = open.get(at)
    if (!s) {
      s = { h: createHistogram(), requests: 0, errors: 0 }
      open.set(at, s)
    }
    return s
  }

  /** Encodes the send seconds at or before `upTo` (all when undefined), freeing their histograms. */
  private sealSent(upTo?: number): void {
    if (!this.bySent) return
    for (const [t, s] of this.bySent.open) {
      if (upTo !== undefined && t > upTo) continue
      this.bySent.sealed.push({ t, requests: s.requests, errors: s.errors, histogram: encodeHistogram(s.h) })
      s.h.destroy()
      this.bySent.open.delete(t)
    }
  }

  /**
   * A request of endpoint `ep` that was not sent (a flow step whose captured value cannot be made
   * safe, request.ts): an error with no answer (status 0) and no latency.
   */
  refused(ep: number): void {
    const e = this.stats[ep]!
    e.requests++
    e.statuses[0]!++
    e.errors++
    this.requests++
    this.errors++
    this.secondRequests++
    this.secondErrors++
    if (this.bySent) {
      // never sent: counted in the second it was due in (now)
      const s = this.sentSecond(this.secondIndex)
      s.requests++
      s.errors++
    }
  }

  /** Open model: a send left `behindMs` after its intended time. */
  sendLag(behindMs: number): void {
    if (!this.lag) return
    const behind = behindMs < 0 ? 0 : behindMs
    recordMs(this.lag, behind)
    if (behind > this.lateAfterMs!) this.late++
  }

  /** Open model: a request was handed out (to a connection's queue, or the gRPC client) `behindMs` after its intended time. */
  handOutLag(behindMs: number): void {
    if (this.handedOut) recordMs(this.handedOut, behindMs < 0 ? 0 : behindMs)
  }

  /** Ends the current second (`partial`: the run's last, dropped when empty); returns its point. */
  closeSecond(partial: boolean, targetRate?: number): SecondPoint | undefined {
    if (partial && !this.secondRequests) return undefined
    this.overall.add(this.second)
    const s = toPointStats(this.second)
    const p: SecondPoint = {
      t: this.secondIndex,
      ...(targetRate !== undefined ? { targetRate } : {}),
      requests: this.secondRequests,
      errors: this.secondErrors,
      p50: s.p50,
      p90: s.p90,
      p99: s.p99,
      p999: s.p999,
      max: s.max,
    }
    this.timeline.push(p)
    this.exportSecond?.({
      t: p.t,
      ...(targetRate !== undefined ? { targetRate } : {}),
      requests: p.requests,
      errors: p.errors,
      histogram: encodeHistogram(this.second),
      max: p.max,
    })
    if (this.bySent) this.sealSent(this.secondIndex - this.bySent.holdS)
    this.second.reset()
    this.secondRequests = 0
    this.secondErrors = 0
    this.secondIndex++
    return p
  }

  /** The run's histograms, encoded, for a worker to send (call after the last closeSecond). */
  histograms(): WorkerHistograms {
    this.sealSent()
    const overall = encodeHistogram(this.overall)
    return {
      overall,
      endpoints: this.stats.map((st) => (st.h ? encodeHistogram(st.h) : overall)),
      ...(this.lag ? { lag: encodeHistogram(this.lag) } : {}),
      ...(this.handedOut ? { handedOut: encodeHistogram(this.handedOut) } : {}),
      ...(this.bySent ? { sent: this.bySent.sealed } : {}),
    }
  }

  /** The index of the second being recorded (0 at the start). */
  get currentSecond(): number {
    return this.secondIndex
  }

  /** The run's result; call once, after the last closeSecond. */
  result(run: {
    startMs: number
    durationMs: number
    sent: number
    sendingMs: number
    unfinished: number
    connectionsOpened: number
    connectionsReused: number
    generator: GeneratorUse
    interrupted: boolean
  }): LoadRunResult {
    const lagStats = this.lag ? toLatencyStats(this.lag) : undefined
    return {
      startedAt: new Date(run.startMs).toISOString(),
      startMs: run.startMs,
      durationMs: run.durationMs,
      requests: this.requests,
      errors: this.errors,
      sent: run.sent,
      sendingMs: run.sendingMs,
      latency: toLatencyStats(this.overall),
      ...(lagStats
        ? {
            sendLag: {
              count: lagStats.count,
              late: this.late,
              lateAfterMs: this.lateAfterMs!,
              p50: lagStats.p50,
              p99: lagStats.p99,
              max: lagStats.max,
              ...(this.handedOut?.totalCount
                ? {
                    own: {
                      p99: toLatencyStats(this.handedOut).p99,
                      max: toLatencyStats(this.handedOut).max,
                    },
                  }
                : {}),
            },
          }
        : {}),
      unfinished: run.unfinished,
      endpoints: this.endpoints.map((e, i): EndpointReport => {
        const st = this.stats[i]!
        return {
          name: e.name,
          ...(e.grpc ? { protocol: 'grpc' as const } : {}),
          method: e.method,
          path: e.path,
          requests: st.requests,
          errors: st.errors,
          // gRPC statuses by name (OK, NOT_FOUND), HTTP ones by number
          statuses: Object.fromEntries(
            [...st.statuses]
              .map((n, s) => [e.grpc ? grpcCodeName(s) : String(s), n] as const)
              .filter(([, n]) => n > 0),
          ),
          latency: toLatencyStats(st.h ?? this.overall),
        }
      }),
      timeline: this.timeline,
      ...(this.bySent ? { sentSeconds: (this.sealSent(), this.bySent.sealed) } : {}),
      connectionsOpened: run.connectionsOpened,
      connectionsReused: run.connectionsReused,
      generator: run.generator,
      interrupted: run.interrupted,
    }
  }
}
