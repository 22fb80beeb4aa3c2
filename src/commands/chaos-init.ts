import { join, relative } from 'node:path'
import { readFile } from 'node:fs/promises'
import { planExampleExperiment } from '../core/chaos/init.js'
import type { Ctx } from '../context.js'
import { UserError } from '../errors.js'
import { writeFileAtomic } from '../io/fs.js'
import { loadWorkspace } from '../io/workspace.js'

export interface InitCliOptions {
  out?: string
  force?: boolean
  stdout?: boolean
}

/** `msvc chaos init`: an example experiment naming this workspace's services. */
export async function runInit(opts: InitCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  if (Object.keys(workspace.services).length === 0)
    throw new UserError('the workspace has no services to experiment on', 'add one with msvc add <name>')
  const text = planExampleExperiment(workspace)
  if (opts.stdout) return ctx.ui.data(text)
  const out = join(root, opts.out ?? 'chaos/experiment.yaml')
  if (
    !opts.force &&
    (await readFile(out).then(
      () => true,
      () => false,
    ))
  )
    throw new UserError(
      `${relative(ctx.cwd, out)} already exists`,
      'pass --force to overwrite it, or --out another file',
    )
  await writeFileAtomic(out, text)
  ctx.ui.success(`wrote ${relative(ctx.cwd, out) || out}`)
  ctx.ui.info(`run it with: msvc chaos run ${relative(ctx.cwd, out)}`)
}
