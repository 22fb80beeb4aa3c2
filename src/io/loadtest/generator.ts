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
 */
import { connect, type Socket } from 'node:net'
import type { CompiledGrpcCall } from '../../core/loadtest/grpc-message.js'
import { GRPC_CANCELLED } from '../../core/loadtest/grpc-status.js'
import { RunRecorder } from '../../core/loadtest/recorder.js'
import { ResponseParser, type ParsedResponse } from '../../core/loadtest/http-parser.js'
import { createWeightedPicker } from '../../core/loadtest/mix.js'
import { isExpected, type CompiledRequest } from '../../core/loadtest/request.js'
import type { LoadModel, LoadRunResult, SecondPoint } from '../../core/loadtest/report.js'
import { createArrivalSchedule, rateAt } from '../../core/loadtest/schedule.js'

export type { LoadModel, LoadRunResult }

export interface GeneratorOptions {
  /** where HTTP requests go (unused when every request is a gRPC call) */
  host: string
  port: number
  requests: (CompiledRequest | CompiledGrpcCall)[]
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
}

interface Job {
  ep: number
  /** performance.now() the latency clock starts at: intended send time (open) or the write (closed) */
  start: number
}

interface Conn {
  socket: Socket
  ready: boolean
  inflight: Job[]
  /** jobs waiting for the connect */
  queued: Job[]
  parser: ResponseParser
  dead: boolean
  /** called once it is connected, or has failed to */
  onReady?: (() => void) | undefined
  /** closed model: gRPC calls this connection's slots are waiting for */
  grpcPending: number
}

/** Runs a load; resolves when the schedule is done and every answer is in (or timed out). */
export function runLoad(o: GeneratorOptions): Promise<LoadRunResult> {
  return new Promise((resolve) => {
    const lateAfterMs = o.lateAfterMs ?? 1
    const open = o.model.kind === 'open' ? o.model : undefined
    const closed = o.model.kind === 'closed' ? o.model : undefined
    const pick = createWeightedPicker(o.requests.map((r) => r.spec.weight))
    const random = o.random ?? Math.random
    const eps = o.requests.map((r) => {
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
    )
    const hasHttp = eps.some((e) => e.http)
    /** gRPC calls sent and not yet answered */
    const grpcPending = new Set<Job>()
    let sent = 0
    let lastWrite = 0
    let seq = 0
    let connectionsOpened = 0
    let unfinished = 0
    let inFlight = 0
    let sending = true
    let finished = false
    let interrupted = false
    const conns = new Set<Conn>()
    const idle: Conn[] = []
    const backlog: Job[] = []
    let backlogHead = 0
    let startMs = Date.now()
    let t0 = performance.now()
    /** connections opening now: a burst of sends opens at most this many at once, not one per send */
    let connecting = 0
    const MAX_CONNECTING = 8
    /** open model, once the clock runs: sends every request due by `now` (performance.now()) */
    let dispatchDue: ((now: number) => void) | undefined

    const bytesFor = (ep: number): Uint8Array => {
      const e = eps[ep]!
      return e.bytes ?? e.http!.encode({ seq: seq++, random, nowMs: Date.now() })
    }

    const finish = (job: Job, status: number, now: number) => {
      inFlight--
      rec.answer(job.ep, status, now - job.start)
    }

    /** A request leaves now: open model, its lag behind schedule; closed, its clock starts. */
    const markSent = (job: Job): number => {
      const now = performance.now()
      if (open) rec.sendLag(now - job.start)
      else {
        job.start = now
        inFlight++
      }
      return now
    }

    const write = (c: Conn, job: Job) => {
      const now = markSent(job)
      c.inflight.push(job)
      sent++
      lastWrite = now
      c.socket.write(bytesFor(job.ep))
    }

    /**
     * Sends a gRPC call through the generated client. Open model: latency from the intended send
     * time; closed: from now, and `next` sends the slot's next request when this one ends.
     */
    const callGrpc = (job: Job, g: CompiledGrpcCall, next?: () => void) => {
      const now = markSent(job)
      sent++
      lastWrite = now
      grpcPending.add(job)
      g.call({ seq: seq++, random, nowMs: Date.now() }, (code) => {
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

    /** Ends a connection; what it still owed is answered with status 0 (an error). */
    const failConn = (c: Conn, graceful = false) => {
      if (c.dead) return
      c.dead = true
      if (!c.ready) {
        connecting--
        c.onReady?.()
      }
      conns.delete(c)
      const i = idle.indexOf(c)
      if (i >= 0) idle.splice(i, 1)
      const now = performance.now()
      if (graceful) {
        // the server announced the close: what was pipelined behind that answer was never
        // processed. The closed model sends others on the next connection; the open model
        // sends these again, their clocks still running from their intended times.
        if (closed) inFlight -= c.inflight.length
        else for (const j of c.inflight) backlog.push(j)
      } else for (const j of c.inflight) finish(j, 0, now)
      for (const j of c.queued) finish(j, 0, now)
      c.inflight.length = 0
      c.queued.length = 0
      c.socket.destroy()
      // a server that closes after N requests gets a new connection at once; a failing one, after a pause
      if (closed && sending) setTimeout(() => sending && openConn(), graceful ? 0 : 10)
      else pump()
      maybeDone()
    }

    const onFree = (c: Conn) => {
      if (closed) {
        while (sending && !c.dead && c.inflight.length + c.grpcPending < closed.pipelining) {
          const ep = pick()
          const g = eps[ep]!.grpc
          if (!g) {
            write(c, { ep, start: 0 })
            continue
          }
          // a gRPC pick holds this connection's slot until it is answered, as a request would
          c.grpcPending++
          callGrpc({ ep, start: 0 }, g, () => {
            c.grpcPending--
            onFree(c)
          })
        }
        return
      }
      if (backlogHead < backlog.length) {
        const job = backlog[backlogHead++]!
        if (backlogHead > 1024 && backlogHead * 2 > backlog.length) {
          backlog.splice(0, backlogHead)
          backlogHead = 0
        }
        write(c, job)
      } else idle.push(c)
    }

    const openConn = (first?: Job, onReady?: () => void): Conn => {
      connectionsOpened++
      connecting++
      const socket = connect({ host: o.host, port: o.port, noDelay: true })
      const c: Conn = {
        socket,
        ready: false,
        inflight: [],
        queued: first ? [first] : [],
        dead: false,
        parser: undefined as unknown as ResponseParser,
        grpcPending: 0,
      }
      c.parser = new ResponseParser(
        (r: ParsedResponse) => {
          const job = c.inflight.shift()
          if (!job) return failConn(c)
          const now = performance.now()
          finish(job, r.status, now)
          if (r.close) return failConn(c, true)
          onFree(c)
          // sends that fell due while a batch of answers is read leave now, not after the batch
          dispatchDue?.(now)
          maybeDone()
        },
        () => eps[c.inflight[0]?.ep ?? 0]!.r.spec.method !== 'HEAD',
      )
      conns.add(c)
      c.onReady = onReady
      socket.on('connect', () => {
        c.ready = true
        connecting--
        c.onReady?.()
        const q = c.queued.splice(0)
        for (const j of q) write(c, j)
        if (closed) onFree(c)
        else if (!q.length) onFree(c)
        pump()
      })
      socket.on('data', (chunk: Buffer) => {
        c.parser.feed(chunk)
        if (c.parser.error) failConn(c)
      })
      socket.on('end', () => {
        c.parser.end()
        failConn(c)
      })
      socket.on('error', () => failConn(c))
      socket.on('close', () => failConn(c))
      return c
    }

    const dispatch = (job: Job) => {
      inFlight++
      const g = eps[job.ep]!.grpc
      if (g) return callGrpc(job, g)
      const c = idle.pop()
      if (c) return write(c, job)
      if (open && conns.size < open.maxConnections && connecting < MAX_CONNECTING) {
        openConn(job)
        return
      }
      backlog.push(job)
    }

    /** Hands waiting jobs to new connections after one was lost. */
    const pump = () => {
      if (!open) return
      while (backlogHead < backlog.length && conns.size < open.maxConnections && connecting < MAX_CONNECTING)
        openConn(backlog[backlogHead++]!)
    }

    const sweepTimeouts = () => {
      const now = performance.now()
      const limit = now - o.timeoutMs
      for (const c of conns) {
        const head = c.inflight[0] ?? c.queued[0]
        if (head && head.start < limit) failConn(c)
      }
      while (backlogHead < backlog.length && backlog[backlogHead]!.start < limit)
        finish(backlog[backlogHead++]!, 0, now)
    }

    const closeSecond = (partial: boolean) => {
      const i = rec.currentSecond
      const p = rec.closeSecond(partial, open ? Math.round(rateAt(open.profile, i * 1000 + 500)) : undefined)
      if (p)
        o.onSecond?.(p, {
          requests: rec.requests,
          errors: rec.errors,
          elapsedMs: performance.now() - t0,
          inFlight,
        })
    }

    let ticker: NodeJS.Timeout | undefined
    const startClock = () => {
      startMs = Date.now()
      t0 = performance.now()
      o.onStart?.(startMs)
      ticker = setInterval(() => {
        closeSecond(false)
        sweepTimeouts()
        maybeDone()
      }, 1000)
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
      if (!sending && !finished && inFlight <= 0 && backlogHead >= backlog.length) done()
    }

    function done() {
      if (finished) return
      finished = true
      if (ticker) clearInterval(ticker)
      if (drainTimer) clearTimeout(drainTimer)
      o.signal?.removeEventListener('abort', onAbort)
      const now = performance.now()
      unfinished = inFlight
      for (const c of [...conns]) {
        for (const j of c.inflight) finish(j, 0, now)
        for (const j of c.queued) finish(j, 0, now)
        c.inflight.length = 0
        c.queued.length = 0
        c.dead = true
        c.socket.destroy()
      }
      while (backlogHead < backlog.length) finish(backlog[backlogHead++]!, 0, now)
      for (const j of grpcPending) finish(j, GRPC_CANCELLED, now)
      grpcPending.clear()
      closeSecond(true)
      resolve(
        rec.result({
          startMs,
          durationMs: now - t0,
          sent,
          sendingMs: lastWrite ? lastWrite - t0 : 0,
          unfinished,
          connectionsOpened,
          interrupted,
        }),
      )
    }

    const onAbort = () => {
      interrupted = true
      sending = false
      done()
    }
    o.signal?.addEventListener('abort', onAbort)

    if (closed) {
      startClock()
      // with HTTP requests, N connections whose slots may also carry gRPC calls; without, N x P
      // calls kept in flight (the generated client multiplexes them on its HTTP/2 connection)
      if (hasHttp) for (let i = 0; i < closed.connections; i++) openConn()
      else for (let i = 0; i < closed.connections * closed.pipelining; i++) grpcSlot()
      setTimeout(stopSending, closed.durationMs)
      return
    }
    // open model: the schedule starts at once and connections open on demand, up to maxConnections;
    // a job that finds none free waits in the backlog with its clock running.
    const sched = createArrivalSchedule(open!.profile)
    let next = sched.next()
    const due = (nowAbs: number) => {
      const now = nowAbs - t0
      while (next !== undefined && next <= now) {
        dispatch({ ep: pick(), start: t0 + next })
        next = sched.next()
      }
    }
    const tick = () => {
      if (!sending) return
      due(performance.now())
      if (next === undefined) return stopSending()
      const wait = next - (performance.now() - t0)
      if (wait > 2) setTimeout(tick, wait - 1)
      else setImmediate(tick)
    }
    // connections for the peak rate (one per 200 requests/s, at least 8) are open before the clock
    // starts (waiting up to 1 s), so the first seconds do not pay for connecting; more open on demand
    const peak = Math.max(open!.profile.startRate, ...open!.profile.stages.map((st) => st.rate))
    // (gRPC channels are connected by their loader before the run)
    const warm = hasHttp ? Math.min(open!.maxConnections, Math.max(MAX_CONNECTING, Math.ceil(peak / 200))) : 0
    let waiting = warm
    let started = false
    let warmTimer: NodeJS.Timeout | undefined
    const begin = () => {
      clearTimeout(warmTimer)
      if (started || finished) return
      started = true
      startClock()
      dispatchDue = (now) => sending && due(now)
      tick()
    }
    for (let i = 0; i < warm; i++) openConn(undefined, () => --waiting === 0 && begin())
    if (warm) warmTimer = setTimeout(begin, 1000)
    else begin()
  })
}
