import type { Ctx } from '../context.js'
import { openWorkspace } from './stack-workspace.js'

export interface DownCliOptions {
  volumes?: boolean
}

/** `msvc down`: stops and removes this workspace's containers (and volumes with --volumes). */
export async function runDown(opts: DownCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx, true)
  const runtime = await ctx.runtime(root, workspace)
  const { removed, volumes } = await ctx.ui.step(`Stopping ${workspace.name}`, () =>
    runtime.down({ volumes: opts.volumes === true }),
  )
  const parts = [
    ...(removed.length ? [`${removed.length} container(s)`] : []),
    ...(volumes?.length ? [`${volumes.length} volume(s) (${volumes.join(', ')})`] : []),
  ]
  ctx.ui.info(parts.length ? `removed ${parts.join(' and ')}` : 'nothing was running')
  if (await (await ctx.dashboard()).stop(root)) ctx.ui.info('dashboard stopped')
}
