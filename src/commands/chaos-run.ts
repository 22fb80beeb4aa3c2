import { readFile } from 'node:fs/promises'
import { relative, resolve } from 'node:path'
import { describeFault } from '../core/chaos/faults.js'
import { parseExperiment, type Experiment } from '../core/chaos/experiment.js'
import { judgeExperiment, type Journal } from '../core/chaos/journal.js'
import { formatDuration } from '../core/chaos/units.js'
import type { Ctx } from '../context.js'
import { ExitError, UserError } from '../errors.js'
import { writeFileAtomic } from '../io/fs.js'
import { runExperimentSteps } from '../io/chaos/experiment-runner.js'
import { experimentPrinter } from '../ui/experiment.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { listServiceContainers } from '../io/chaos/targets.js'
import { toWorkspaceError, loadWorkspace } from '../io/workspace.js'
import type { Ui } from '../ui/ui.js'

export interface RunCliOptions {
  journal?: string
  json?: boolean
  dryRun?: boolean
}

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
  const c = ui.color
  ui.info(c.bold(`Experiment: ${exp.title}`))
  try {
    await runExperimentSteps(
      exp,
      {
        d,
        root,
        ws: workspace,
        file: journal.experiment.file,
        signal: trap.signal,
        runtime: () => ctx.runtime(root, workspace),
      },
      journal,
      experimentPrinter(ui),
    )
  } finally {
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
