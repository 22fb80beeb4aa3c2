/**
 * Whether a run's figures describe the system under test or the load generator itself. The open
 * model counts latency from each request's intended send time, so a generator that falls behind
 * its schedule adds its own delay to every latency; a generator whose event loop is busy all the
 * time (closed model) reads answers late and sets the pace itself. Both are
 * reported, with what to do about them, and a latency threshold breached in that state is judged
 * only where the breach cannot be the generator's doing (thresholds.ts).
 */
import type { LoadModel, SendLag } from './report.js'

/** Send lag p99 above this (ms): the open model's latencies include the generator's own delay. */
export const SEND_LAG_LIMIT_MS = 1
/**
 * Sends needed before a send lag p99 says anything: over fewer, the p99 is the largest of a
 * handful, and one late tick (a compile, a GC) of a short or slow run would mark it saturated.
 */
export const MIN_SENDS_FOR_LAG = 100
/** Event loop busy more than this share of the run: the generator is CPU-bound. */
export const BUSY_LIMIT = 0.9

/** What the generator used over the run, as the generator measures it. */
export interface GeneratorUse {
  /** the process's CPU time over the run's wall time, in cores (1 = one core all along) */
  cpu: number
  /** the share of the run the generator's event loop was busy, 0 to 1 */
  eventLoop: number
  /** the longest the event loop was held up (ms): no answer waited longer than that to be read */
  loopDelayMax: number
}

export interface GeneratorReport extends GeneratorUse {
  /** the figures include the generator's own delay (reasons says why) */
  saturated: boolean
  /** open model: p99 of how late requests left their intended time, ms */
  sendLagP99?: number
  /** one line each: why the generator is saturated */
  reasons: string[]
  /** what to do about it, when saturated */
  hint?: string
}

/** The verdict on the generator of a run of `model` that used `use` and lagged by `sendLag`. */
export function judgeGenerator(
  model: LoadModel['kind'],
  use: GeneratorUse,
  sendLag: SendLag | undefined,
): GeneratorReport {
  const reasons: string[] = []
  // the generator's own lateness, when measured: a request waiting for a free connection because
  // the system holds them all (a paused service) is the system's doing, not the generator's
  const ownP99 = sendLag?.own?.p99 ?? sendLag?.p99
  if (sendLag && ownP99 !== undefined && sendLag.count >= MIN_SENDS_FOR_LAG && ownP99 > SEND_LAG_LIMIT_MS)
    reasons.push(
      sendLag.own
        ? `sends fell behind the schedule: the generator handed requests out p99 ${round(ownP99)} ms late (over ${SEND_LAG_LIMIT_MS} ms)`
        : `sends fell behind the schedule: send lag p99 ${round(ownP99)} ms (over ${SEND_LAG_LIMIT_MS} ms)`,
    )
  // The open model's scheduler naps in 0.1 ms slices inside a callback whenever the next send is
  // under 2 ms away, to keep its sends within a fraction of a millisecond: its event loop always
  // looks busy, though it uses little CPU. A generator short of CPU shows there as send lag, which
  // is what distorts its figures.
  if (model === 'closed' && use.eventLoop > BUSY_LIMIT)
    reasons.push(
      `the generator's event loop was busy ${Math.round(use.eventLoop * 100)} % of the run (over ${BUSY_LIMIT * 100} %)`,
    )
  const saturated = reasons.length > 0
  return {
    saturated,
    ...(sendLag ? { sendLagP99: round(sendLag.p99) } : {}),
    cpu: round(use.cpu),
    eventLoop: round(use.eventLoop),
    loopDelayMax: round(use.loopDelayMax),
    reasons,
    ...(saturated
      ? {
          hint:
            model === 'open'
              ? "latencies include the generator's own delay: lower --rate, or add --workers"
              : "the request rate and latencies are the generator's limit, not the system's: add --workers",
        }
      : {}),
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000
