/**
 * How many HTTP connections the open model keeps (issue #19): sized from the observed latency by
 * Little's law (connections busy = requests per second x seconds each one holds a connection),
 * with `--max-connections` as the cap. Connections are opened before the clock starts for the
 * peak rate, and more only when requests have waited for one while the generator kept up and the
 * server's answers say the pool is too small. A backlog the generator made itself (a GC pause, a
 * cold start, answers it has not read yet) never opens connections: a storm of connects is what
 * pushed the old generator further behind (238 connections at 10,000/s against a server answering
 * in 0.2 ms, 692 at 20,000/s).
 */

/** Connections opening at once, at most. */
export const MAX_CONNECTING = 8

/**
 * Requests waiting this long for a connection while the generator's ticks ran on time mean the
 * server holds the connections longer than the pool allows for.
 */
export const GROW_AFTER_MS = 5

/**
 * A tick later than this (the generator's loop was busy) means the generator, not the server, was
 * behind for that long.
 */
const BEHIND_MS = 1

/**
 * Since when the backlog counts as waiting, after a tick `lateMs` late: the lateness was the
 * generator's own, so it does not count as the backlog's wait (the start moves on by it, never past
 * `now`). A late tick used to restart the wait: on a busy machine, where most ticks run 1-3 ms late,
 * the backlog never waited GROW_AFTER_MS and the pool stayed at its warm size while requests
 * queued behind it (the example shop's journeys at 20/s, issue #20). A long hold-up (a GC pause,
 * 60 ms) still restarts it: the backlog it leaves is of the generator's making.
 */
export function toBacklogSince(since: number, now: number, lateMs: number): number {
  return lateMs > BEHIND_MS ? Math.min(now, since + lateMs) : since
}

/** Warm connections: one per this many requests per second of the peak rate (5 ms each). */
const REQUESTS_PER_WARM_CONNECTION = 200

/** Little's law's size times this: room for bursts of the arrival schedule and for jitter. */
const HEADROOM = 2

/**
 * Connections opened before the clock starts: one per 200 requests/s of the peak rate, at least 8
 * (a worker of `workers` opens its share of the 8, so that workers together open no more than one
 * generator would), at most `maxConnections`.
 */
export function toWarmConnections(peakRate: number, maxConnections: number, workers = 1): number {
  const least = Math.ceil(MAX_CONNECTING / workers)
  const forRate = Math.ceil(peakRate / workers / REQUESTS_PER_WARM_CONNECTION)
  return Math.min(maxConnections, Math.max(least, forRate))
}

/**
 * The pool Little's law asks for: `rate` requests/s each holding a connection `serviceMs` (the
 * observed time from write to answer), with headroom; never below `floor` (the warm pool), never
 * above `max`.
 */
export function toLittleSize(rate: number, serviceMs: number, floor: number, max: number): number {
  const busy = (rate * serviceMs) / 1000
  return Math.min(max, Math.max(floor, Math.ceil(busy * HEADROOM)))
}

/**
 * Answers whose time from write to answer the pool keeps (the last ones). Their lower quartile,
 * not their mean, is the latency Little's law is fed: answers that arrived while the generator
 * was held up (a GC pause, a cold start, a second's summary, the OS giving its core to another
 * process) are read late and look slow. A mean of them opened 88 connections where the 10 warm
 * ones served every request; a median still opened 952 at 20,000/s on a machine whose other work
 * took half the generator's core. A server slow for every request is slow in its lower quartile
 * too, and the headroom (x2) covers the spread above it.
 */
export const SERVICE_SAMPLES = 32

/** The `q` quantile (0-1, nearest rank) of the first `n` values (0 when none); `values` is left as it was. */
export function toQuantile(values: ArrayLike<number>, n: number, q: number): number {
  if (n <= 0) return 0
  const sorted = Array.prototype.slice.call(values, 0, n) as number[]
  sorted.sort((a, b) => a - b)
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!
}

/** One endpoint's last write-to-answer times: a ring of SERVICE_SAMPLES, and how many were taken. */
export interface ServiceSamples {
  values: Float64Array
  count: number
}

/**
 * The holding time Little's law is fed for a mix of requests (a flow's steps, weighted requests):
 * each endpoint's lower quartile, weighted by how often it was among the last answers (`recent`,
 * the endpoints of the last `n` answers). One lower quartile of the whole mix is the fast
 * requests' alone: a journey of three 5 ms steps and a 150 ms order was sized for 5 ms, and its
 * backlog grew without a connection opening (issue #20's shop). With one endpoint it is that
 * endpoint's lower quartile, as before.
 */
export function toMixServiceMs(
  byEp: ReadonlyMap<number, ServiceSamples>,
  recent: ArrayLike<number>,
  n: number,
): number {
  if (n <= 0) return 0
  const quartiles = new Map<number, number>()
  let sum = 0
  for (let i = 0; i < n; i++) {
    const ep = recent[i]!
    let q = quartiles.get(ep)
    if (q === undefined) {
      const s = byEp.get(ep)
      q = s ? toQuantile(s.values, Math.min(s.count, SERVICE_SAMPLES), 0.25) : 0
      quartiles.set(ep, q)
    }
    sum += q
  }
  return sum / n
}

/** What the pool knows when it decides whether to grow. */
export interface PoolGrowthInput {
  /** requests waiting for a connection */
  waiting: number
  /** how long the backlog has held requests while the generator's ticks ran on time (ms) */
  waitedMs: number
  /** connections open or opening */
  open: number
  /** of which opening now */
  connecting: number
  /** the scheduled rate now, requests/s (this generator's share) */
  rate: number
  /** recent time from a request's write to its answer (lower quartile of the last ones), ms; 0 before any */
  serviceMs: number
  /** the warm pool's size: connections lost below it are always replaced */
  floor: number
  /** `--max-connections` (this generator's share) */
  max: number
}

/** How many connections to open now (0: none): only for a backlog the server's latency explains. */
export function toConnectionsToOpen(s: PoolGrowthInput): number {
  if (s.waiting === 0 || s.waitedMs < GROW_AFTER_MS) return 0
  const wanted = toLittleSize(s.rate, s.serviceMs, s.floor, s.max) - s.open
  return Math.max(0, Math.min(wanted, MAX_CONNECTING - s.connecting, s.waiting))
}
