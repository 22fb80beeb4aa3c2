/**
 * The load generator: raw `net.Socket` HTTP/1.1 connections writing prebuilt request bytes and
 * parsing responses by their framing only. Open model: requests leave on the arrival schedule and
 * latency runs from each one's intended send time, whether it waited for a connection or not.
 * Closed model: N connections, each sending its next request when an answer arrives (optionally
 * several in flight), latency from the actual send, as wrk and autocannon measure it.
 *
 * gRPC unary calls of a scenario take the same schedule, mix and histograms, but go through the
 * generated client (grpc-js multiplexes them over its own HTTP/2 connection): an HTTP-only run
 * never touches that path beyond one property check per send.
 *
 * Its parts: the HTTP connections (http-pool.ts), when requests leave (schedulers.ts), and what is
 * measured (core/loadtest/recorder.ts); this module ties them to the clock and the run's end.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { CompiledGrpcCall } from '../../core/loadtest/grpc-message.js'
import { GRPC_CANCELLED } from '../../core/loadtest/grpc-status.js'
import { RunRecorder } from '../../core/loadtest/recorder.js'
import { createWeightedPicker } from '../../core/loadtest/mix.js'
import { isExpected, type CompiledRequest } from '../../core/loadtest/request.js'
import type { LoadModel, LoadRunResult, SecondPoint } from '../../core/loadtest/report.js'
import { rateAt } from '../../core/loadtest/schedule.js'
import type { GeneratorUse } from '../../core/loadtest/generator-health.js'
import type { WorkerHistograms, WorkerSecond } from '../../core/loadtest/merge.js'
import type { Slice } from '../../core/loadtest/schedule.js'
import type { CompiledFlow } from '../../core/loadtest/flow.js'
import type { KeptAnswer } from '../../core/loadtest/http-parser.js'
import { FlowRunner } from './flow-runner.js'
import { HttpPool } from './http-pool.js'
import { startClosedModel, startOpenModel, type Job } from './schedulers.js'

export type { LoadModel, LoadRunResult }

export interface GeneratorOptions {
  /** where HTTP requests go (unused when every request is a gRPC call) */
  host: string
  port: number
  requests: (CompiledRequest | CompiledGrpcCall)[]
  /** flows of HTTP steps, picked with the requests (flow-runner.ts) */
  flows?: CompiledFlow[]
  model: LoadModel
  /** a request unanswered this long is an error (status 0) and its connection is closed */
  timeoutMs: number
  /** a send later than this behind its schedule counts as late */
  lateAfterMs?: number
  signal?: AbortSignal
  /** called once a second with that second's figures */
  onSecond?: (
    p: SecondPoint,
    totals: { requests: number; errors: number; elapsedMs: number; inFlight: number },
  ) => void
  random?: () => number
  /** the clock started (epoch ms): the schedule's t = 0 */
  onStart?: (startMs: number) => void
  /** a worker of a run (workers.ts): its share of the open model's schedule */
  slice?: Slice
  /** a worker: the clock starts at this time (epoch ms, performance.timeOrigin based), once warm */
  startAt?: number
  /** a worker: each second's histogram as it closes, and the run's at its end */
  exportSecond?: (s: WorkerSecond) => void
  exportHistograms?: (h: WorkerHistograms) => void
  /** record by send second too, for the run's phases (LoadRunResult.sentSeconds) */
  keepSeconds?: boolean
  /**
   * --warmup: `model` begins with this long of warm-up (core/loadtest/warmup.ts withWarmup), sent
   * and not recorded; the run's clock, figures and onStart begin after it
   */
  warmupMs?: number
}

/** Runs a load; resolves when the schedule is done and every answer is in (or timed out). */
export function runLoad(o: GeneratorOptions): Promise<LoadRunResult> {
  return new Promise((resolve) => {
    const lateAfterMs = o.lateAfterMs ?? 1
    const open = o.model.kind === 'open' ? o.model : undefined
    const closed = o.model.kind === 'closed' ? o.model : undefined
    const random = o.random ?? Math.random
    const warmupMs = o.warmupMs ?? 0
    // flows: their steps are endpoints after the requests, their iterations picked with them
    const flows = o.flows?.length
      ? new FlowRunner({
          flows: o.flows,
          firstEp: o.requests.length,
          context: (vars) => ({ seq: nextSeq(), random, nowMs: Date.now(), vars }),
          refused: (ep) => rec.refused(ep),
          ...(warmupMs ? { runStart: () => t0 } : {}),
          ...(open
            ? {
                sendNext: (job: Job) => {
                  // in flight from now; sent once the answer's connection is free again
                  inFlight++
                  queueMicrotask(() => finished || pool.send(job))
                },
              }
            : {}),
        })
      : undefined
    const weights = o.requests.map((r) => r.spec.weight)
    const pick = flows ? flows.picker(weights) : createWeightedPicker(weights)
    const eps = [...o.requests, ...(flows?.endpoints ?? [])].map((r) => {
      const grpc = 'call' in r ? r : undefined
      return {
        bytes: grpc ? undefined : (r as CompiledRequest).bytes,
        http: grpc ? undefined : (r as CompiledRequest),
        grpc,
        r,
      }
    })
    // what is measured: latencies, statuses, the timeline, the send lag (core/loadtest/recorder.ts)
    const rec = new RunRecorder(
      eps.map((e) => ({
        name: e.r.spec.name,
        method: e.r.spec.method,
        path: e.r.spec.path,
        grpc: e.grpc !== undefined,
        // gRPC: status codes 0-16 (0 is OK); HTTP: statuses 100-599, 0 for no answer
        expects: e.grpc
          ? (s) => e.grpc!.spec.expect.includes(s)
          : (s) => s >= 100 && isExpected(s, e.http!.spec.expect),
      })),
      open ? lateAfterMs : undefined,
      o.exportSecond,
      // answers come within the timeout (then it is an error): a second is whole that long after
      o.keepSeconds ? { holdS: Math.ceil(o.timeoutMs / 1000) + 2 } : undefined,
    )
    const hasHttp = eps.some((e) => e.http)
    /** gRPC calls sent and not yet answered */
    const grpcPending = new Set<Job>()
    let sent = 0
    let lastWrite = 0
    // a worker's request numbers are its own: index, index + count, ... (unique across workers)
    const seqStep = o.slice?.count ?? 1
    let seq = o.slice?.index ?? 0
    const nextSeq = () => {
      const n = seq
      seq += seqStep
      return n
    }
    let unfinished = 0
    let inFlight = 0
    let sending = true
    let finished = false
    let interrupted = false
    let startMs = Date.now()
    /** when the run's clock starts (performance.now()): after the warm-up, if any */
    let t0 = warmupMs ? Infinity : performance.now()
    /** what the warm-up sent and had answered (recorded nowhere else) */
    const warm = { requests: 0, errors: 0 }
    /** a job of the warm-up: due before the run's clock (a flow step: its iteration began before it) */
    const isWarm = (job: Job) => warmupMs > 0 && (flows?.owns(job.ep) ? flows.warm(job) : job.start < t0)
    /** the process's CPU and the event loop's use when the clock started, and its hold-ups since */
    let cpuAtStart = process.cpuUsage()
    let loopAtStart = performance.eventLoopUtilization()
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    /** open model, once the clock runs: sends every request due by `now` (performance.now()) */
    let dispatchDue: ((now: number) => void) | undefined

    const finish = (job: Job, status: number, now: number, kept?: KeptAnswer) => {
      inFlight--
      const failed = flows?.owns(job.ep) ? flows.answered(job, status, now, kept) : false
      if (isWarm(job)) {
        warm.requests++
        if (rec.isError(job.ep, status, failed)) warm.errors++
        return
      }
      rec.answer(job.ep, status, now - job.start, failed, job.start - t0)
    }

    /** A request leaves now: open model, its lag behind schedule; closed, its clock starts. */
    const markSent = (job: Job): number => {
      const now = performance.now()
      if (open) {
        if (!isWarm(job)) rec.sendLag(now - job.start)
      } else {
        job.start = now
        inFlight++
      }
      if (isWarm(job)) return now
      sent++
      lastWrite = now
      return now
    }

    const pool = new HttpPool({
      host: o.host,
      port: o.port,
      ...(closed ? { pipelining: closed.pipelining } : { maxConnections: open!.maxConnections }),
      sending: () => sending,
      bytesFor: (job) => {
        if (flows?.owns(job.ep)) return flows.bytes(job)
        const e = eps[job.ep]!
        return e.bytes ?? e.http!.encode({ seq: nextSeq(), random, nowMs: Date.now() })
      },
      sent: markSent,
      answered: finish,
      ...(flows ? { keeps: (ep: number) => flows.keeps(ep) } : {}),
      nextForSlot: () => {
        // a flow's next step first (the slot its predecessor freed), then what the mix picks
        const queued = flows?.nextQueued()
        if (queued) return { ep: queued.ep, job: queued }
        let ep = pick()
        // a flow's first step starts an iteration (refused only with a captured value, so never)
        while (flows?.owns(ep)) {
          const job = flows.begin({ ep, start: 0 })
          if (job) return { ep, job }
          ep = pick()
        }
        const g = eps[ep]!.grpc
        return g ? { ep, grpc: (done) => callGrpc({ ep, start: 0 }, g, done) } : { ep }
      },
      hasBody: (ep) => eps[ep]!.r.spec.method !== 'HEAD',
      afterAnswer: (now) => {
        dispatchDue?.(now)
        maybeDone()
      },
      dropped: (n) => (inFlight -= n),
      maybeDone: () => maybeDone(),
    })

    /**
     * Sends a gRPC call through the generated client. Open model: latency from the intended send
     * time; closed: from now, and `next` sends the slot's next request when this one ends.
     */
    const callGrpc = (job: Job, g: CompiledGrpcCall, next?: () => void) => {
      markSent(job)
      grpcPending.add(job)
      g.call({ seq: nextSeq(), random, nowMs: Date.now() }, (code) => {
        // a call still pending when the run ended was counted then
        if (!grpcPending.delete(job)) return
        const t = performance.now()
        finish(job, code, t)
        next?.()
        dispatchDue?.(t)
        maybeDone()
      })
    }

    /** Closed model without HTTP requests: a slot that sends its next call when one ends. */
    const grpcSlot = () => {
      if (!sending) return
      const ep = pick()
      callGrpc({ ep, start: 0 }, eps[ep]!.grpc!, grpcSlot)
    }

    /** Open model: the schedule's arrivals handed out so far (a flow's iteration is one). */
    let arrivals = 0
    /** Open model: a job due now, on its way (gRPC) or to a connection. */
    const dispatch = (due: Job) => {
      arrivals++
      // the generator's own lateness (waiting for a free connection comes after: markSent)
      if (due.start >= t0) rec.handOutLag(performance.now() - due.start)
      // a flow's first step starts an iteration (undefined: its request was refused)
      const job = flows?.owns(due.ep) ? flows.begin(due) : due
      if (!job) return
      inFlight++
      const g = eps[job.ep]!.grpc
      if (g) return callGrpc(job, g)
      pool.send(job)
    }

    const closeSecond = (partial: boolean) => {
      const i = rec.currentSecond
      const p = rec.closeSecond(
        partial,
        open ? Math.round(rateAt(open.profile, warmupMs + i * 1000 + 500)) : undefined,
      )
      if (p)
        o.onSecond?.(p, {
          requests: rec.requests,
          errors: rec.errors,
          elapsedMs: performance.now() - t0,
          inFlight,
        })
    }

    let ticker: NodeJS.Timeout | undefined
    let warmTimer: NodeJS.Timeout | undefined
    /** the run's clock: its figures are counted from here */
    const startRun = (at: number) => {
      if (finished) return
      clearInterval(ticker)
      t0 = at
      startMs = Date.now() - Math.round(performance.now() - at)
      cpuAtStart = process.cpuUsage()
      loopAtStart = performance.eventLoopUtilization()
      loopDelay.enable()
      o.onStart?.(startMs)
      ticker = setInterval(() => {
        closeSecond(false)
        const now = performance.now()
        pool.sweep(now - o.timeoutMs, now)
        maybeDone()
      }, 1000)
    }
    /** the schedule's clock (the scheduler's t = 0): the warm-up's start, or the run's */
    const startClock = () => {
      const at = performance.now()
      if (!warmupMs) {
        startRun(at)
        return t0
      }
      // the run's clock starts warmupMs from now; a request due from then on is the run's
      t0 = at + warmupMs
      warmTimer = setTimeout(() => startRun(at + warmupMs), warmupMs)
      // the warm-up's own unanswered requests time out as the run's do
      ticker = setInterval(() => {
        const now = performance.now()
        pool.sweep(now - o.timeoutMs, now)
      }, 1000)
      return at
    }
    let drainTimer: NodeJS.Timeout | undefined

    const stopSending = () => {
      if (!sending) return
      sending = false
      // what is still in flight gets up to the timeout to come back
      drainTimer = setTimeout(() => done(), o.timeoutMs)
      maybeDone()
    }

    function maybeDone() {
      if (!sending && !finished && inFlight <= 0 && pool.waiting === 0) done()
    }

    function done() {
      if (finished) return
      finished = true
      if (ticker) clearInterval(ticker)
      clearTimeout(warmTimer)
      if (drainTimer) clearTimeout(drainTimer)
      o.signal?.removeEventListener('abort', onAbort)
      const now = performance.now()
      loopDelay.disable()
      const generator = generatorUse(cpuAtStart, loopAtStart, loopDelay, now - t0)
      unfinished = inFlight
      pool.closeAll(now)
      for (const j of grpcPending) finish(j, GRPC_CANCELLED, now)
      grpcPending.clear()
      closeSecond(true)
      o.exportHistograms?.({
        ...rec.histograms(),
        ...(flows ? { flows: flows.stats.histograms() } : {}),
      })
      resolve({
        ...rec.result({
          startMs,
          // (a run cut in its warm-up has not started: no duration)
          durationMs: Math.max(0, now - t0),
          sent,
          sendingMs: lastWrite ? lastWrite - t0 : 0,
          unfinished,
          connectionsOpened: pool.opened,
          connectionsReused: pool.reused,
          generator,
          interrupted,
        }),
        ...(flows ? { flows: flows.stats.report() } : {}),
        ...(warmupMs
          ? {
              warmup: {
                durationMs: Math.round(Math.min(warmupMs, now - (t0 - warmupMs))),
                requests: warm.requests,
                errors: warm.errors,
              },
              ...(now < t0 ? { cutInWarmup: true } : {}),
            }
          : {}),
      })
    }

    const onAbort = () => {
      interrupted = true
      sending = false
      done()
    }
    o.signal?.addEventListener('abort', onAbort)

    const hooks = {
      pick,
      startClock,
      stopSending,
      sending: () => sending,
      finished: () => finished,
    }
    if (closed)
      startClosedModel(
        closed,
        hasHttp,
        { startAt: o.startAt },
        {
          ...hooks,
          openConnection: () => pool.open(),
          grpcSlot,
        },
      )
    else
      startOpenModel(
        open!,
        hasHttp,
        { slice: o.slice, startAt: o.startAt },
        {
          ...hooks,
          dispatch,
          // Little's law wants requests a second: a flow's later steps add to the arrivals
          grow: (now, lateMs, rate, floor) =>
            pool.grow(now, lateMs, rate * Math.max(1, pool.sends / Math.max(1, arrivals)), floor),
          openWarm: (ready) => pool.open(undefined, ready),
          onDue: (fn) => (dispatchDue = fn),
        },
      )
  })
}

/** What the generator used since `cpu` and `loop` were taken, `wallMs` ago (generator-health.ts). */
function generatorUse(
  cpu: NodeJS.CpuUsage,
  loop: ReturnType<typeof performance.eventLoopUtilization>,
  delay: IntervalHistogram,
  wallMs: number,
): GeneratorUse {
  const used = process.cpuUsage(cpu)
  return {
    cpu: wallMs > 0 ? (used.user + used.system) / 1000 / wallMs : 0,
    eventLoop: performance.eventLoopUtilization(loop).utilization,
    // ns; a run too short for one sample reports a huge min and a max of 0
    loopDelayMax: delay.count ? delay.max / 1e6 : 0,
  }
}
