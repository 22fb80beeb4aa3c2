/**
 * `--warmup`: load sent before the measured run, on the same connections and in the same schedule,
 * and recorded in none of its figures (wrk2 does the same in its first 10 s, its calibration). The
 * generator runs one model, the warm-up followed by the run (withWarmup), and records only what was
 * due from the run's start on. Why it exists: the first 50-100 ms of a fast run are slow round trips
 * that are neither the target's nor the schedule's (docs/loadtest.md, "Remaining: the start of a run").
 */
import type { LoadModel } from './report.js'
import { constantProfile } from './schedule.js'

/**
 * The load a warm-up of `warmupMs` sends: the closed model's connections, or the open model at the
 * rate the run starts at (its first stage's when a ramp starts from 0), for that long. Its requests
 * reach the target as the run's do: endpoints that change data are changed.
 */
export function toWarmupModel(model: LoadModel, warmupMs: number): LoadModel {
  if (model.kind === 'closed') return { ...model, durationMs: warmupMs }
  const p = model.profile
  const rate = p.startRate > 0 ? p.startRate : (p.stages.find((st) => st.rate > 0)?.rate ?? 0)
  return { ...model, profile: constantProfile(rate, warmupMs) }
}

/**
 * The model the generator runs: `warmup` (from toWarmupModel) then `run`. The open model's schedule
 * goes on from the warm-up's last arrival at the run's own starting rate (a stage of no duration
 * jumps to it when a ramp starts lower), so the run sends what it would have sent alone.
 */
export function withWarmup(run: LoadModel, warmup: LoadModel): LoadModel {
  if (run.kind === 'closed' || warmup.kind === 'closed') {
    if (run.kind !== 'closed' || warmup.kind !== 'closed') throw new Error("a warm-up has its run's model")
    return { ...run, durationMs: warmup.durationMs + run.durationMs }
  }
  const w = warmup.profile.stages[0]!
  const jump = run.profile.startRate !== w.rate ? [{ durationMs: 0, rate: run.profile.startRate }] : []
  return {
    ...run,
    profile: { startRate: w.rate, stages: [w, ...jump, ...run.profile.stages] },
  }
}
