import { readFile } from 'node:fs/promises'
import { relative, resolve } from 'node:path'
import type { Engine } from '../io/engine.js'
import type { Runtime } from '../runtime/runtime.js'
import { describeFault } from '../core/chaos/faults.js'
import {
  methodDurationMs,
  parseExperiment,
  type Experiment,
  type FaultStep,
  type ProbeStep,
  type Rollback,
} from '../core/chaos/experiment.js'
import {
  judgeExperiment,
  type FaultRecord,
  type Journal,
  type ProbeRecord,
  type ProbeResult,
} from '../core/chaos/journal.js'
import type { LedgerEntry } from '../core/chaos/ledger.js'
import { describeRecovery } from '../core/chaos/recovery.js'
import { formatDuration } from '../core/chaos/units.js'
import type { Workspace } from '../core/workspace/model.js'
import type { Ctx } from '../context.js'
import { ExitError, UserError } from '../errors.js'
import { writeFileAtomic } from '../io/fs.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { runProbe } from '../io/chaos/probes.js'
import { FaultUndoError, engineEdges, runFaultLifecycle } from '../io/chaos/lifecycle.js'
import { liftFault } from '../io/chaos/runner.js'
import { listServiceContainers } from '../io/chaos/targets.js'
import { toWorkspaceError, loadWorkspace } from '../io/workspace.js'
import type { Ui } from '../ui/ui.js'

export interface RunCliOptions {
  journal?: string
  json?: boolean
  dryRun?: boolean
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

/** `msvc chaos run <file>`: steady state, method, steady state again, rollbacks; journal and verdict. */
export async function runExperiment(file: string, opts: RunCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const path = resolve(ctx.cwd, file)
  const text = await readFile(path, 'utf8').catch(() => {
    throw new UserError(`cannot read experiment ${file}`, 'msvc chaos init writes an example')
  })
  const parsed = parseExperiment(text, workspace)
  if (!parsed.ok) {
    const e = toWorkspaceError(relative(ctx.cwd, path) || file, parsed.problems)
    throw new UserError(e.message, e.hint?.replace('fix msvc.yaml', 'fix the experiment'))
  }
  const exp = parsed.experiment
  const ui = ctx.ui
  if (opts.dryRun) return printSchedule(exp, ui)
  const d = await ctx.engine()
  await restoreLeftoverFaults(root, workspace, ui, ctx.engine)
  if ((await listServiceContainers(d, workspace.name)).every((c) => c.State !== 'running'))
    throw new UserError(`the stack of ${workspace.name} is not up`, 'start it with msvc up')

  const t0 = Date.now()
  const journal: Journal = {
    msvc: ctx.version,
    experiment: {
      file: relative(root, path),
      title: exp.title,
      ...(exp.description ? { description: exp.description } : {}),
    },
    workspace: workspace.name,
    startedAt: new Date(t0).toISOString(),
    reasons: [],
    method: [],
    rollbacks: [],
  }
  const trap = ctx.trapSignals()
  const open = new Map<string, LedgerEntry>()
  const c = ui.color
  ui.info(c.bold(`Experiment: ${exp.title}`))
  try {
    journal.steadyStateBefore = await checkHypothesis(exp, 'before', d, workspace, ui, trap.signal)
    if (journal.steadyStateBefore.met && !trap.signal.aborted) {
      ui.info(c.dim(`method: ${exp.method.length} step(s) over ${formatDuration(methodDurationMs(exp))}`))
      const start = Date.now()
      await Promise.all(
        exp.method.map((step) =>
          step.type === 'fault'
            ? runFaultStep(
                step,
                start,
                { d, root, ws: workspace, ui, exp, open, signal: trap.signal, file: journal.experiment.file },
                journal,
              )
            : runProbeStep(step, start, { d, ws: workspace, ui, signal: trap.signal }, journal),
        ),
      )
      await liftAll(d, root, open, ui)
      if (!trap.signal.aborted)
        journal.steadyStateAfter = await checkHypothesis(exp, 'after', d, workspace, ui, trap.signal)
    }
  } catch (e) {
    journal.error = e instanceof UserError ? e.message : String((e as Error).stack ?? e)
  } finally {
    await liftAll(d, root, open, ui).catch((e: unknown) => {
      journal.error ??= `could not restore: ${(e as Error).message}`
    })
    if (journal.steadyStateBefore?.met)
      journal.rollbacks = await runRollbacks(exp.rollbacks, d, workspace, ui, () =>
        ctx.runtime(root, workspace),
      )
    trap.release()
  }
  const v = judgeExperiment({ ...journal, interrupted: trap.signal.aborted })
  Object.assign(journal, { ...v, endedAt: new Date().toISOString(), durationMs: Date.now() - t0 })
  if (opts.journal) {
    await writeFileAtomic(resolve(ctx.cwd, opts.journal), JSON.stringify(journal, null, 2) + '\n')
  }
  if (opts.json) ui.json(journal)
  if (v.verdict === 'held') ui.success(`hypothesis held: ${exp.title}`)
  else if (v.verdict === 'violated') ui.error(`hypothesis violated: ${exp.title}`, v.reasons.join('\n  '))
  else if (v.verdict === 'aborted')
    ui.error(
      `the system was not in its steady state before the experiment; nothing was injected`,
      v.reasons.join('\n  '),
    )
  else if (v.verdict === 'interrupted')
    ui.warn(
      `cancelled (${trap.received()}); faults restored, ${journal.steadyStateBefore?.met ? 'rollbacks run' : 'nothing to roll back'}`,
    )
  else ui.error(`the experiment could not run: ${v.reasons.join('; ')}`)
  if (opts.journal) ui.info(c.dim(`journal: ${opts.journal}`))
  if (v.exitCode !== 0) throw new ExitError(v.exitCode)
}

async function checkHypothesis(
  exp: Experiment,
  when: 'before' | 'after',
  d: Engine,
  ws: Workspace,
  ui: Ui,
  signal: AbortSignal,
): Promise<{ met: boolean; probes: ProbeResult[] }> {
  const probes: ProbeResult[] = []
  for (const p of exp.hypothesis) {
    if (signal.aborted) break
    const r = await runProbe(p, { d, ws, signal })
    probes.push(r)
    printProbe(ui, `steady state ${when}`, r)
  }
  return { met: probes.length === exp.hypothesis.length && probes.every((p) => p.ok), probes }
}

function printProbe(ui: Ui, phase: string, r: ProbeResult) {
  const c = ui.color
  ui.info(`${r.ok ? c.green('✔') : c.red('✖')} ${c.dim(`${phase}:`)} ${r.name} ${c.dim('→')} ${r.detail}`)
}

interface StepEnv {
  d: Engine
  root: string
  ws: Workspace
  ui: Ui
  exp: Experiment
  open: Map<string, LedgerEntry>
  signal: AbortSignal
  file: string
}

async function runFaultStep(step: FaultStep, start: number, env: StepEnv, journal: Journal): Promise<void> {
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
  const at = `+${formatDuration(step.atMs)}`
  const c = env.ui.color
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
          env.ui.info(
            `${c.yellow('⚡')} ${c.dim(at)} ${rec.fault} on ${step.service} (${rec.targets.join(', ')})${step.forMs ? ` for ${formatDuration(step.forMs)}` : ''}`,
          )
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
          env.ui.info(`${c.green('↺')} restored ${rec.fault} on ${step.service}`)
        },
      },
    )
    if (outcome.open) env.open.set(outcome.injected.id, outcome.open)
    if (outcome.recovery) {
      rec.recovery = outcome.recovery
      const line = `${step.service} ${describeRecovery(rec.recovery, env.exp.recoveryTimeoutMs)}`
      if (rec.recovery.recovered) env.ui.info(`${c.green('✔')} ${line}`)
      else env.ui.warn(line)
    }
  } catch (e) {
    // an undo that failed stays in the ledger; the end of the method tries it again
    if (e instanceof FaultUndoError) env.open.set(e.entry.id, e.entry)
    rec.error = (e as Error).message
    env.ui.warn(`${at} ${rec.fault} on ${step.service} failed: ${rec.error}`)
  }
}

async function runProbeStep(
  step: ProbeStep,
  start: number,
  env: { d: Engine; ws: Workspace; ui: Ui; signal: AbortSignal },
  journal: Journal,
): Promise<void> {
  if (!(await sleep(start + step.atMs - Date.now(), env.signal))) return
  const deadline = Date.now() + (step.withinMs ?? 0)
  let attempts = 0
  let r: ProbeResult
  for (;;) {
    attempts++
    r = await runProbe(step.probe, env)
    if (r.ok || Date.now() >= deadline || env.signal.aborted) break
    await sleep(Math.min(250, deadline - Date.now()), env.signal)
  }
  if (step.withinMs !== undefined) r.attempts = attempts
  const rec: ProbeRecord = { type: 'probe', atMs: step.atMs, result: r }
  journal.method.push(rec)
  printProbe(env.ui, `+${formatDuration(step.atMs)}`, r)
}

async function liftAll(d: Engine, root: string, open: Map<string, LedgerEntry>, ui: Ui) {
  for (const [id, entry] of [...open]) {
    await liftFault(d, root, entry)
    open.delete(id)
    ui.info(`${ui.color.green('↺')} restored ${describeFault(entry.spec)} on ${entry.service}`)
  }
}

async function runRollbacks(
  rollbacks: Rollback[],
  d: Engine,
  ws: Workspace,
  ui: Ui,
  runtime: () => Promise<Runtime>,
): Promise<Journal['rollbacks']> {
  const out: Journal['rollbacks'] = []
  for (const rb of rollbacks) {
    let ok = true
    let detail = 'done'
    try {
      const infos = await listServiceContainers(d, ws.name, rb.service)
      if (rb.action === 'wait-healthy')
        // the wait of `msvc up` and `msvc restart`: on failure, the reason and the last log lines
        await (await runtime()).waitHealthy([rb.service], { timeoutMs: rb.timeoutMs, onEvent: () => {} })
      else
        for (const i of infos) {
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
    out.push({ action: rb.action, service: rb.service, ok, detail })
    ui.info(
      `${ok ? ui.color.green('✔') : ui.color.red('✖')} ${ui.color.dim('rollback:')} ${rb.action} ${rb.service} ${ui.color.dim('→')} ${detail}`,
    )
  }
  return out
}

function printSchedule(exp: Experiment, ui: Ui) {
  ui.data(`${exp.title}: valid`)
  ui.data(`hypothesis (before and after): ${exp.hypothesis.map((p) => p.name).join('; ')}`)
  for (const s of exp.method)
    ui.data(
      `  +${formatDuration(s.atMs)}  ${
        s.type === 'fault'
          ? `${describeFault(s.spec)} on ${s.service}${s.forMs ? ` for ${formatDuration(s.forMs)}` : ''}`
          : `probe ${s.probe.name}${s.withinMs ? ` (within ${formatDuration(s.withinMs)})` : ''}`
      }`,
    )
  if (exp.rollbacks.length)
    ui.data(`rollbacks: ${exp.rollbacks.map((r) => `${r.action} ${r.service}`).join('; ')}`)
}
