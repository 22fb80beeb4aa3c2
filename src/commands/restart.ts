import type { Ctx } from '../context.js'
import { durationFlag } from './flags.js'
import { openWorkspace, checkServiceArgs } from './stack-workspace.js'

/** `msvc restart <service>`: restarts its containers and waits until healthy. */
export async function runRestart(name: string, opts: { timeout?: string }, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx)
  const runtime = await ctx.runtime(root, workspace)
  checkServiceArgs(workspace, [name], true, await runtime.extraServices())
  await ctx.ui.step(`Restarting ${name}`, async () => {
    await runtime.restart(name)
    await runtime.waitHealthy([name], {
      timeoutMs: durationFlag(opts.timeout ?? '60s', '--timeout', '60s'),
      onEvent: () => {},
    })
  })
}
