/** Arrival schedules for the open model: when each request is meant to leave, in ms from the start. */
import { parseDuration } from '../chaos/units.js'

/** Ramp linearly from the previous stage's rate to `rate` (requests/s) over `durationMs` (k6's ramping arrival rate). */
export interface Stage {
  durationMs: number
  rate: number
}

/** A constant rate is one stage that starts and ends at that rate. */
export interface LoadProfile {
  /** the rate at t = 0 */
  startRate: number
  stages: Stage[]
}

/** `--rate 200 --duration 30s` as a profile. */
export function constantProfile(rate: number, durationMs: number): LoadProfile {
  return { startRate: rate, stages: [{ durationMs, rate }] }
}

/** `10s:100,30s:1000` (k6's stages: ramp to 100/s over 10 s, then to 1000/s over 30 s); undefined when malformed. */
export function parseStages(text: string): Stage[] | undefined {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
  if (!parts.length) return undefined
  const stages: Stage[] = []
  for (const p of parts) {
    const m = /^([0-9.]+(?:ms|s|m|h)(?:[0-9.]+(?:ms|s|m|h))*)\s*:\s*(\d+(?:\.\d+)?)$/.exec(p)
    if (!m) return undefined
    const durationMs = parseDuration(m[1]!)
    const rate = Number(m[2])
    if (durationMs === undefined || durationMs <= 0 || !Number.isFinite(rate)) return undefined
    stages.push({ durationMs, rate })
  }
  return stages
}

export const profileDurationMs = (p: LoadProfile): number => p.stages.reduce((a, s) => a + s.durationMs, 0)

/** How many requests the profile sends in all (the area under the rate curve). */
export function profileRequests(p: LoadProfile): number {
  let r0 = p.startRate
  let n = 0
  for (const s of p.stages) {
    n += ((r0 + s.rate) / 2) * (s.durationMs / 1000)
    r0 = s.rate
  }
  return Math.floor(n + 1e-9)
}

/** The target rate (requests/s) at `tMs` from the start; 0 after the end. */
export function rateAt(p: LoadProfile, tMs: number): number {
  let r0 = p.startRate
  let start = 0
  for (const s of p.stages) {
    if (tMs < start + s.durationMs) return r0 + ((s.rate - r0) * (tMs - start)) / s.durationMs
    start += s.durationMs
    r0 = s.rate
  }
  return 0
}

/**
 * The intended send times in order: request k leaves when the area under the rate curve reaches k,
 * so request 0 leaves at 0 and a constant 200/s sends every 5 ms. Times do not depend on when the
 * previous request was sent or answered: that is what keeps a stalled server from slowing the
 * schedule (coordinated omission).
 */
export function createArrivalSchedule(p: LoadProfile): { next(): number | undefined } {
  let stage = 0
  let stageStartMs = 0
  let stageStartCount = 0
  let r0 = p.startRate
  let k = 0
  return {
    next() {
      for (;;) {
        const s = p.stages[stage]
        if (!s) return undefined
        const D = s.durationMs / 1000
        const stageCount = ((r0 + s.rate) / 2) * D
        const c = k - stageStartCount
        if (c < stageCount - 1e-9) {
          // N(t) = r0 t + (r1 - r0) t^2 / 2D = c, solved in a form that is stable when r1 = r0
          const a = (s.rate - r0) / (2 * D)
          const t = c === 0 ? 0 : (2 * c) / (r0 + Math.sqrt(r0 * r0 + 4 * a * c))
          k++
          return stageStartMs + t * 1000
        }
        stageStartCount += stageCount
        stageStartMs += s.durationMs
        r0 = s.rate
        stage++
      }
    },
  }
}

/** One worker's share of the load: `index` of `count` (see sliceSchedule). */
export interface Slice {
  index: number
  count: number
}

/**
 * Worker `index` of `count`'s share of a schedule: requests index, index + count, index + 2count,
 * and so on. The shares interleave exactly, so the workers together send the whole schedule at the
 * same instants as one generator would, never `count` requests in a burst.
 */
export function sliceSchedule(
  schedule: { next(): number | undefined },
  slice: Slice,
): { next(): number | undefined } {
  let k = 0
  return {
    next() {
      for (;;) {
        const t = schedule.next()
        if (t === undefined) return undefined
        if (k++ % slice.count === slice.index) return t
      }
    },
  }
}
