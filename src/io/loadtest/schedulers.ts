/**
 * When requests leave, for each load model. Open model: on the arrival schedule, from the moment
 * the warm connections are up (or a second has passed), each request with its intended send time.
 * Closed model: N connections (or, without HTTP requests, N x P gRPC slots) kept busy for the
 * duration. The generator (generator.ts) owns the connections and answers; these only decide when
 * to send and when to stop.
 */
import { toWarmConnections } from '../../core/loadtest/pool-size.js'
import { createArrivalSchedule, rateAt, sliceSchedule, type Slice } from '../../core/loadtest/schedule.js'
import type { LoadModel } from '../../core/loadtest/report.js'

/** A request to send: which endpoint, and when its latency clock starts (performance.now()). */
export interface Job {
  ep: number
  /** performance.now() the latency clock starts at: intended send time (open) or the write (closed) */
  start: number
}

/**
 * The open model waits for a send under 2 ms away (closer than a timer can aim) in naps this long,
 * looking at its sockets between them. It used to spin (setImmediate), which kept a core busy at
 * any rate over 500/s: with `--workers 2` on 2 cores the workers took the target's CPU (issue
 * #19). A nap costs a send and an answer read at most ~0.15 ms (the kernel's timer slack adds
 * ~50 µs); measured here, send lag p50 0.07 ms and 0.1-0.2 cores at 1,000-20,000/s, against
 * 0.002 ms and 0.7-1 core spinning.
 */
const NAP_MS = 0.1
const napCell = new Int32Array(new SharedArrayBuffer(4))

/** Sleeps the thread `ms` (sub-millisecond) without spinning. */
function nap(ms: number): void {
  if (ms > 0) Atomics.wait(napCell, 0, 0, ms)
}

/** What a scheduler drives in the generator. */
export interface SchedulerHooks {
  pick(): number
  /** starts the run's clock (t0, the per-second ticker); returns t0 */
  startClock(): number
  /** the schedule is over: what is in flight gets the timeout to come back */
  stopSending(): void
  sending(): boolean
  finished(): boolean
}

/** When a scheduler's clock starts: once ready, or at `startAt` (epoch ms) when that is later. */
function atStart(startAt: number | undefined, go: () => void): void {
  const wait = startAt === undefined ? 0 : startAt - (performance.timeOrigin + performance.now())
  if (wait > 0) setTimeout(go, wait)
  else go()
}

/**
 * Open model: warm connections first, then every request at its time. A worker (`slice`) sends
 * its share of the schedule, on its share of the warm connections, from `startAt`.
 */
export function startOpenModel(
  model: Extract<LoadModel, { kind: 'open' }>,
  hasHttp: boolean,
  run: { slice?: Slice | undefined; startAt?: number | undefined },
  h: SchedulerHooks & {
    dispatch(job: Job): void
    /**
     * each tick: the backlog may get more connections (HttpPool.grow); `lateMs`: how late this
     * tick ran (the generator's own delay); `rate`: the schedule's rate now; `floor`: the warm
     * pool's size
     */
    grow(now: number, lateMs: number, rate: number, floor: number): void
    /** opens a connection before the clock starts; `ready` once it connected or failed */
    openWarm(ready: () => void): void
    /** sends due while answers are read leave at once, not after the batch */
    onDue(dispatchDue: (now: number) => void): void
  },
): void {
  const whole = createArrivalSchedule(model.profile)
  const sched = run.slice ? sliceSchedule(whole, run.slice) : whole
  let next = sched.next()
  let t0 = 0
  const workers = run.slice?.count ?? 1
  /** when the next tick is meant to run (performance.now()) */
  let tickAt = 0
  const due = (nowAbs: number) => {
    const now = nowAbs - t0
    while (next !== undefined && next <= now) {
      h.dispatch({ ep: h.pick(), start: t0 + next })
      next = sched.next()
    }
  }
  const tick = () => {
    if (!h.sending()) return
    const now = performance.now()
    due(now)
    if (hasHttp) h.grow(now, now - tickAt, rateAt(model.profile, now - t0) / workers, warm)
    if (next === undefined) return h.stopSending()
    const wait = next - (performance.now() - t0)
    // a timer may fire up to 1 ms after wait - 1
    tickAt = performance.now() + (wait > 2 ? wait : 0)
    if (wait > 2) return void setTimeout(tick, wait - 1)
    nap(Math.min(wait, NAP_MS))
    tickAt = performance.now()
    setImmediate(tick)
  }
  // connections for the peak rate are open before the clock starts (waiting up to 1 s), so the
  // first seconds do not pay for connecting; more open only when the backlog lasts and the observed
  // latency asks for them (HttpPool.grow). gRPC channels are connected by their loader before the run.
  const peak = Math.max(model.profile.startRate, ...model.profile.stages.map((st) => st.rate))
  const warm = hasHttp ? toWarmConnections(peak, model.maxConnections, workers) : 0
  let waiting = warm
  let started = false
  let warmTimer: NodeJS.Timeout | undefined
  const begin = () => {
    clearTimeout(warmTimer)
    if (started || h.finished()) return
    started = true
    atStart(run.startAt, () => {
      if (h.finished()) return
      t0 = h.startClock()
      h.onDue((now) => h.sending() && due(now))
      tick()
    })
  }
  for (let i = 0; i < warm; i++) h.openWarm(() => --waiting === 0 && begin())
  if (warm) warmTimer = setTimeout(begin, 1000)
  else begin()
}

/** Closed model: N connections whose slots may also carry gRPC calls; without HTTP, N x P gRPC slots. */
export function startClosedModel(
  model: Extract<LoadModel, { kind: 'closed' }>,
  hasHttp: boolean,
  run: { startAt?: number | undefined },
  h: SchedulerHooks & { openConnection(): void; grpcSlot(): void },
): void {
  atStart(run.startAt, () => {
    if (h.finished()) return
    h.startClock()
    if (hasHttp) for (let i = 0; i < model.connections; i++) h.openConnection()
    else for (let i = 0; i < model.connections * model.pipelining; i++) h.grpcSlot()
    setTimeout(h.stopSending, model.durationMs)
  })
}
