/**
 * An experiment's run (`msvc chaos run`): the steady state checked, the method's faults and probes
 * at their offsets (each fault through the one fault lifecycle), every fault undone, the steady
 * state checked again, the rollbacks; all of it recorded in the journal. What happens is told to a
 * reporter as it happens (the command prints it; ui/experiment.ts).
 */
import { describeFault } from '../../core/chaos/faults.js'
import {
  methodDurationMs,
  type Experiment,
  type FaultStep,
  type ProbeStep,
  type Rollback,
} from '../../core/chaos/experiment.js'
import type { FaultRecord, Journal, ProbeRecord, ProbeResult } from '../../core/chaos/journal.js'
import type { LedgerEntry } from '../../core/chaos/ledger.js'
import type { Workspace } from '../../core/workspace/model.js'
import { UserError } from '../../errors.js'
import type { Runtime } from '../../runtime/runtime.js'
import type { Engine } from '../engine.js'
import { formatDuration } from '../../core/chaos/units.js'
import { FaultUndoError, engineEdges, runFaultLifecycle } from './lifecycle.js'
import { runProbe } from './probes.js'
import { liftFault } from './runner.js'
import { listServiceContainers } from './targets.js'

/** What an experiment's run tells as it goes. */
export interface ExperimentReporter {
  /** a probe's result: of the steady state (`before`/`after`) or of the method (`+5s`) */
  probe(phase: string, r: ProbeResult): void
  methodStarts(steps: number, durationMs: number): void
  faultApplied(rec: FaultRecord, step: FaultStep): void
  faultRestored(fault: string, service: string): void
  faultRecovery(rec: FaultRecord, step: FaultStep, recoveryTimeoutMs: number): void
  faultFailed(rec: FaultRecord, step: FaultStep): void
  rollback(r: Journal['rollbacks'][number]): void
}

export interface ExperimentEnv {
  d: Engine
  root: string
  ws: Workspace
  /** the experiment file, relative to the workspace: faults applied are marked with it */
  file: string
  /** aborted by Ctrl-C: steps not begun are skipped, faults undone, rollbacks still run */
  signal: AbortSignal
  /** for the `wait-healthy` rollback: the runtime's wait */
  runtime: () => Promise<Runtime>
}

/** Sleeps until `ms`, or until the signal aborts (false). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<boolean>((res) => {
    if (signal.aborted) return res(false)
    const t = setTimeout(
      () => {
        signal.removeEventListener('abort', on)
        res(true)
      },
      Math.max(0, ms),
    )
    const on = () => {
      clearTimeout(t)
      res(false)
    }
    signal.addEventListener('abort', on, { once: true })
  })

/**
 * Runs `exp` into `journal` (its steady states, method records, rollbacks and any error). Never
 * leaves a fault applied: every fault of the method is undone before it returns, whatever failed.
 */
export async function runExperimentSteps(
  exp: Experiment,
  env: ExperimentEnv,
  journal: Journal,
  report: ExperimentReporter,
): Promise<void> {
  const { d, root, signal } = env
  const open = new Map<string, LedgerEntry>()
  try {
    const before = await checkHypothesis(exp, 'before', env, report)
    journal.steadyStateBefore = { met: before.met, probes: before.probes }
    if (journal.steadyStateBefore.met && !signal.aborted) {
      report.methodStarts(exp.method.length, methodDurationMs(exp))
      const start = Date.now()
      await Promise.all(
        exp.method.map((step) =>
          step.type === 'fault'
            ? runFaultStep(step, start, { ...env, exp, open }, journal, report)
            : runProbeStep(step, start, env, journal, report, before.values),
        ),
      )
      await liftAll(d, root, open, report)
      if (!signal.aborted) {
        const after = await checkHypothesis(exp, 'after', env, report)
        journal.steadyStateAfter = { met: after.met, probes: after.probes }
      }
    }
  } catch (e) {
    journal.error = e instanceof UserError ? e.message : String((e as Error).stack ?? e)
  } finally {
    await liftAll(d, root, open, report).catch((e: unknown) => {
      journal.error ??= `could not restore: ${(e as Error).message}`
    })
    if (journal.steadyStateBefore?.met) journal.rollbacks = await runRollbacks(exp.rollbacks, env, report)
  }
}

async function checkHypothesis(
  exp: Experiment,
  when: 'before' | 'after',
  env: ExperimentEnv,
  report: ExperimentReporter,
): Promise<{ met: boolean; probes: ProbeResult[]; values: Map<string, number> }> {
  const probes: ProbeResult[] = []
  // the numbers of the probes run so far, which later ones may name (`== @captured`)
  const values = new Map<string, number>()
  for (const p of exp.hypothesis) {
    if (env.signal.aborted) break
    const r = await runProbe(p, env, values)
    if (typeof r.value === 'number' && (p.type === 'metric' || (p.type === 'http' && p.value)))
      values.set(p.name, r.value)
    probes.push(r)
    report.probe(`steady state ${when}`, r)
  }
  return { met: probes.length === exp.hypothesis.length && probes.every((p) => p.ok), probes, values }
}

async function runFaultStep(
  step: FaultStep,
  start: number,
  env: ExperimentEnv & { exp: Experiment; open: Map<string, LedgerEntry> },
  journal: Journal,
  report: ExperimentReporter,
): Promise<void> {
  if (!(await sleep(start + step.atMs - Date.now(), env.signal))) return
  const rec: FaultRecord = {
    type: 'fault',
    atMs: step.atMs,
    service: step.service,
    fault: describeFault(step.spec),
    spec: step.spec,
    targets: [],
  }
  journal.method.push(rec)
  try {
    const outcome = await runFaultLifecycle(
      engineEdges(env.d, env.root, env.ws),
      {
        service: step.service,
        spec: step.spec,
        selection: step.selection,
        experiment: env.file,
        ...(step.forMs !== undefined ? { durationMs: step.forMs } : {}),
        // without `for`, a lasting fault stays until the method ends (liftAll)
        hold: step.forMs ?? 'leave',
        recovery: {
          timeoutMs: env.exp.recoveryTimeoutMs,
          httpPort: env.ws.services[step.service]!.ports.http,
        },
      },
      env.signal,
      {
        applied: (injected) => {
          rec.targets = injected.targets.map((t) => t.name)
          rec.appliedAt = new Date(injected.appliedAt).toISOString()
          rec.applyMs = injected.appliedAt - injected.startedAt
          if (injected.notes?.length) rec.notes = injected.notes
          report.faultApplied(rec, step)
        },
        restarted: (t) => {
          rec.notes = [
            ...(rec.notes ?? []),
            `${t.name} restarted during the fault; its new network namespace did not have it`,
          ]
        },
        lifted: ({ endedAt, notes }) => {
          rec.endedAt = new Date(endedAt).toISOString()
          if (notes.length) rec.notes = [...(rec.notes ?? []), ...notes]
          report.faultRestored(rec.fault, step.service)
        },
      },
    )
    if (outcome.open) env.open.set(outcome.injected.id, outcome.open)
    if (outcome.recovery) {
      rec.recovery = outcome.recovery
      report.faultRecovery(rec, step, env.exp.recoveryTimeoutMs)
    }
  } catch (e) {
    // an undo that failed stays in the ledger; the end of the method tries it again
    if (e instanceof FaultUndoError) env.open.set(e.entry.id, e.entry)
    rec.error = (e as Error).message
    report.faultFailed(rec, step)
  }
}

async function runProbeStep(
  step: ProbeStep,
  start: number,
  env: ExperimentEnv,
  journal: Journal,
  report: ExperimentReporter,
  /** the hypothesis's values before the method, which the probe may name */
  values: ReadonlyMap<string, number>,
): Promise<void> {
  if (!(await sleep(start + step.atMs - Date.now(), env.signal))) return
  const deadline = Date.now() + (step.withinMs ?? 0)
  let attempts = 0
  let r: ProbeResult
  for (;;) {
    attempts++
    // the journal: a load probe's phases are cut by the method's faults
    r = await runProbe(step.probe, { ...env, journal }, values)
    if (r.ok || Date.now() >= deadline || env.signal.aborted) break
    await sleep(Math.min(250, deadline - Date.now()), env.signal)
  }
  if (step.withinMs !== undefined) r.attempts = attempts
  const rec: ProbeRecord = { type: 'probe', atMs: step.atMs, result: r }
  journal.method.push(rec)
  report.probe(`+${formatDuration(step.atMs)}`, r)
}

async function liftAll(d: Engine, root: string, open: Map<string, LedgerEntry>, report: ExperimentReporter) {
  for (const [id, entry] of [...open]) {
    await liftFault(d, root, entry)
    open.delete(id)
    report.faultRestored(describeFault(entry.spec), entry.service)
  }
}

async function runRollbacks(
  rollbacks: Rollback[],
  env: ExperimentEnv,
  report: ExperimentReporter,
): Promise<Journal['rollbacks']> {
  const { d, ws } = env
  const out: Journal['rollbacks'] = []
  for (const rb of rollbacks) {
    let ok = true
    let detail = 'done'
    try {
      if (rb.action === 'wait-healthy')
        // the wait of `msvc up` and `msvc restart`: on failure, the reason and the last log lines
        await (await env.runtime()).waitHealthy([rb.service], { timeoutMs: rb.timeoutMs, onEvent: () => {} })
      else
        for (const i of await listServiceContainers(d, ws.name, rb.service)) {
          const c = d.getContainer(i.Id)
          const s = (await c.inspect()).State
          if (rb.action === 'restart') await c.restart({ t: 10 })
          else if (rb.action === 'start' && !s.Running) await c.start()
          else if (rb.action === 'unpause' && s.Paused) await c.unpause()
        }
    } catch (e) {
      ok = false
      detail = (e as Error).message
    }
    const r = { action: rb.action, service: rb.service, ok, detail }
    out.push(r)
    report.rollback(r)
  }
  return out
}
