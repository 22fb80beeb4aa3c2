/**
 * The load generator's HTTP/1.1 connections: raw sockets writing prebuilt request bytes, answers
 * read by their framing only (core/loadtest/http-parser.ts). Open model: a job that finds no
 * connection free waits in the backlog with its clock running; sending never opens a connection,
 * and more open (grow) only when the backlog has waited while the generator kept up and the
 * observed latency says the pool is too small (core/loadtest/pool-size.ts). Closed model: each
 * connection keeps `pipelining` requests in flight. The generator (generator.ts) decides what is
 * sent when and records what comes back.
 */
import { connect, type Socket } from 'node:net'
import { ResponseParser, type KeptAnswer, type ParsedResponse } from '../../core/loadtest/http-parser.js'
import {
  GROW_AFTER_MS,
  MAX_CONNECTING,
  SERVICE_SAMPLES,
  toBacklogSince,
  toConnectionsToOpen,
  toMixServiceMs,
  type ServiceSamples,
} from '../../core/loadtest/pool-size.js'
import type { Job } from './schedulers.js'

interface Conn {
  socket: Socket
  ready: boolean
  inflight: Job[]
  /** jobs waiting for the connect */
  queued: Job[]
  parser: ResponseParser
  dead: boolean
  /** it has carried a request */
  used: boolean
  /** when its last request was written (performance.now()) */
  sentAt: number
  /** called once it is connected, or has failed to */
  onReady?: (() => void) | undefined
  /** closed model: gRPC calls this connection's slots are waiting for */
  grpcPending: number
}

export interface PoolHooks {
  host: string
  port: number
  /** closed model: requests kept in flight per connection */
  pipelining?: number
  /** open model: most connections at once */
  maxConnections?: number
  sending(): boolean
  /** the request's bytes (prebuilt, or rendered from its template) */
  bytesFor(job: Job): Uint8Array
  /** a request leaves now (its lag or clock); returns now */
  sent(job: Job): number
  /** a request ended with `status` (0: no answer); `kept`: its headers and body, when `keeps` asked */
  answered(job: Job, status: number, now: number, kept?: KeptAnswer): void
  /** must the headers and body of an answer to endpoint `ep` be kept? (absent: never) */
  keeps?: (ep: number) => boolean
  /**
   * closed model: the endpoint for a free slot, the job to send when it is one already under way
   * (a flow's next step), and if it is a gRPC call, how to send it
   */
  nextForSlot(): { ep: number; job?: Job; grpc?: (done: () => void) => void }
  /** does endpoint `ep` expect a body (not HEAD)? */
  hasBody(ep: number): boolean
  /** after an answer: sends that fell due leave now, and the run may be done */
  afterAnswer(now: number): void
  /** the closed model's jobs not processed behind a graceful close are dropped from the count */
  dropped(n: number): void
  maybeDone(): void
}

export class HttpPool {
  readonly conns = new Set<Conn>()
  private readonly idle: Conn[] = []
  private readonly backlog: Job[] = []
  private backlogHead = 0
  /** connections opening now: at most MAX_CONNECTING at once */
  private connecting = 0
  /** open model: since when (performance.now()) the backlog has held jobs with ticks on time */
  private backlogSince = 0
  /** open model: per endpoint, the last SERVICE_SAMPLES times from a write to its answer (ms) */
  private readonly service = new Map<number, ServiceSamples>()
  /** the endpoints of the last SERVICE_SAMPLES answers (a ring): the mix the estimate weighs */
  private readonly recentEps = new Int32Array(SERVICE_SAMPLES)
  private answeredCount = 0
  opened = 0
  /** requests written on a connection that had carried one before */
  reused = 0

  /** jobs handed to send (a flow's every step): with the arrivals, the requests per arrival */
  sends = 0

  constructor(private readonly h: PoolHooks) {}

  /** Jobs waiting for a connection. */
  get waiting(): number {
    return this.backlog.length - this.backlogHead
  }

  /**
   * Sends a job on a free connection, or queues it with its clock running (open model). Opens
   * one only when the pool has none: a connect costs the generator more than a send, and opening
   * one per send behind schedule is the storm that put the old generator further behind (#19).
   */
  send(job: Job): void {
    this.sends++
    const c = this.idle.pop()
    if (c) return this.write(c, job)
    // no connection at all, not even one opening (all were lost, the server refuses them): nothing
    // would ever serve the backlog, so this job gets one of its own (and its error without delay)
    if (this.conns.size === 0 && this.h.maxConnections) return this.open(job)
    if (this.waiting === 0) this.backlogSince = performance.now()
    this.backlog.push(job)
  }

  /**
   * Open model, once a tick: connections for the backlog when it has waited GROW_AFTER_MS while
   * the ticks ran on time (a tick `lateMs` late does not count that time: toBacklogSince) and the
   * pool is smaller than `rate` x the observed latency asks for (never below `floor`, the warm pool).
   */
  grow(now: number, lateMs: number, rate: number, floor: number): void {
    if (this.waiting === 0) return
    this.backlogSince = toBacklogSince(this.backlogSince, now, lateMs)
    if (now - this.backlogSince < GROW_AFTER_MS) return
    const n = toConnectionsToOpen({
      waiting: this.waiting,
      waitedMs: now - this.backlogSince,
      open: this.conns.size,
      connecting: this.connecting,
      rate,
      serviceMs: toMixServiceMs(this.service, this.recentEps, Math.min(this.answeredCount, SERVICE_SAMPLES)),
      floor,
      max: this.h.maxConnections ?? 0,
    })
    if (!n) return
    for (let i = 0; i < n; i++) this.open(this.takeBacklog())
    // the next step waits GROW_AFTER_MS more: at most 8 connections per 5 ms, never a burst
    this.backlogSince = now
  }

  open(first?: Job, onReady?: () => void): void {
    this.opened++
    this.connecting++
    const socket = connect({ host: this.h.host, port: this.h.port, noDelay: true })
    const c: Conn = {
      socket,
      ready: false,
      inflight: [],
      queued: first ? [first] : [],
      dead: false,
      used: false,
      sentAt: 0,
      parser: undefined as unknown as ResponseParser,
      grpcPending: 0,
    }
    c.parser = new ResponseParser(
      (r: ParsedResponse) => {
        const job = c.inflight.shift()
        if (!job) return this.fail(c)
        const now = performance.now()
        if (!this.h.pipelining) {
          // one request in flight per connection: write to answer is how long the server held it
          let samples = this.service.get(job.ep)
          if (!samples)
            this.service.set(job.ep, (samples = { values: new Float64Array(SERVICE_SAMPLES), count: 0 }))
          samples.values[samples.count++ % SERVICE_SAMPLES] = now - c.sentAt
          this.recentEps[this.answeredCount++ % SERVICE_SAMPLES] = job.ep
        }
        this.h.answered(job, r.status, now, r.kept)
        if (r.close) return this.fail(c, true)
        this.free(c)
        // sends that fell due while a batch of answers is read leave now, not after the batch
        this.h.afterAnswer(now)
      },
      () => this.h.hasBody(c.inflight[0]?.ep ?? 0),
      // only runs with flows that capture or check ask; plain load keeps nothing
      this.h.keeps ? () => this.h.keeps!(c.inflight[0]?.ep ?? 0) : undefined,
    )
    this.conns.add(c)
    c.onReady = onReady
    socket.on('connect', () => {
      c.ready = true
      this.connecting--
      c.onReady?.()
      const q = c.queued.splice(0)
      for (const j of q) this.write(c, j)
      if (this.h.pipelining || !q.length) this.free(c)
    })
    socket.on('data', (chunk: Buffer) => {
      c.parser.feed(chunk)
      if (c.parser.error) this.fail(c)
    })
    socket.on('end', () => {
      c.parser.end()
      this.fail(c)
    })
    socket.on('error', () => this.fail(c))
    socket.on('close', () => this.fail(c))
  }

  private write(c: Conn, job: Job): void {
    if (c.used) this.reused++
    else c.used = true
    c.sentAt = this.h.sent(job)
    c.inflight.push(job)
    c.socket.write(this.h.bytesFor(job))
  }

  /** A connection can take more: the closed model fills its slots; the open model gives it the backlog. */
  private free(c: Conn): void {
    const pipelining = this.h.pipelining
    if (pipelining) {
      while (this.h.sending() && !c.dead && c.inflight.length + c.grpcPending < pipelining) {
        const next = this.h.nextForSlot()
        if (!next.grpc) {
          this.write(c, next.job ?? { ep: next.ep, start: 0 })
          continue
        }
        // a gRPC pick holds this connection's slot until it is answered, as a request would
        c.grpcPending++
        next.grpc(() => {
          c.grpcPending--
          this.free(c)
        })
      }
      return
    }
    if (this.waiting) this.write(c, this.takeBacklog())
    else this.idle.push(c)
  }

  /** The backlog's oldest job (call only when it has one). */
  private takeBacklog(): Job {
    const job = this.backlog[this.backlogHead++]!
    if (this.backlogHead > 1024 && this.backlogHead * 2 > this.backlog.length) {
      this.backlog.splice(0, this.backlogHead)
      this.backlogHead = 0
    }
    return job
  }

  /** Ends a connection; what it still owed is answered with status 0 (an error). */
  fail(c: Conn, graceful = false): void {
    if (c.dead) return
    c.dead = true
    if (!c.ready) {
      this.connecting--
      c.onReady?.()
    }
    this.conns.delete(c)
    const i = this.idle.indexOf(c)
    if (i >= 0) this.idle.splice(i, 1)
    const now = performance.now()
    if (graceful) {
      // the server announced the close: what was pipelined behind that answer was never
      // processed. The closed model sends others on the next connection; the open model
      // sends these again, their clocks still running from their intended times.
      if (this.h.pipelining) this.h.dropped(c.inflight.length)
      else if (c.inflight.length) {
        if (this.waiting === 0) this.backlogSince = now
        for (const j of c.inflight) this.backlog.push(j)
      }
    } else for (const j of c.inflight) this.h.answered(j, 0, now)
    for (const j of c.queued) this.h.answered(j, 0, now)
    c.inflight.length = 0
    c.queued.length = 0
    c.socket.destroy()
    // a server that closes after N requests gets a new connection at once; a failing one, after a pause
    if (this.h.pipelining && this.h.sending())
      setTimeout(() => this.h.sending() && this.open(), graceful ? 0 : 10)
    else this.replace()
    this.h.maybeDone()
  }

  /**
   * Open model: a lost connection is replaced by one, which takes the oldest waiting job, when
   * jobs wait; more come only from grow().
   */
  private replace(): void {
    const max = this.h.maxConnections
    if (max && this.waiting && this.conns.size < max && this.connecting < MAX_CONNECTING)
      this.open(this.takeBacklog())
  }

  /** Fails connections whose oldest request started before `limit`, and backlog jobs as old. */
  sweep(limit: number, now: number): void {
    for (const c of this.conns) {
      const head = c.inflight[0] ?? c.queued[0]
      if (head && head.start < limit) this.fail(c)
    }
    while (this.backlogHead < this.backlog.length && this.backlog[this.backlogHead]!.start < limit)
      this.h.answered(this.backlog[this.backlogHead++]!, 0, now)
  }

  /** The run is over: everything still owed is answered with status 0 and every socket closed. */
  closeAll(now: number): void {
    for (const c of [...this.conns]) {
      for (const j of c.inflight) this.h.answered(j, 0, now)
      for (const j of c.queued) this.h.answered(j, 0, now)
      c.inflight.length = 0
      c.queued.length = 0
      c.dead = true
      c.socket.destroy()
    }
    while (this.backlogHead < this.backlog.length) this.h.answered(this.backlog[this.backlogHead++]!, 0, now)
  }
}
