import { listStackNames } from '../core/compose/build-stack.js'
import { listObservabilityBackends } from '../core/workspace/model.js'
import type { Ctx } from '../context.js'
import { UserError } from '../errors.js'
import { sinceFlag } from './flags.js'
import { openWorkspace, checkServiceArgs } from './stack-workspace.js'

export interface LogsCliOptions {
  follow?: boolean
  since?: string
  tail?: string
}

const PALETTE = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red'] as const

/** `msvc logs [service...]`: merged logs, prefixed and coloured by service. */
export async function runLogs(names: string[], opts: LogsCliOptions, ctx: Ctx): Promise<void> {
  const since = opts.since !== undefined ? sinceFlag(opts.since) : undefined
  if (opts.tail !== undefined && !/^\d+$/.test(opts.tail))
    throw new UserError(`--tail "${opts.tail}" is not a number of lines`, 'for example --tail 100')
  const { root, workspace } = await openWorkspace(ctx)
  const runtime = await ctx.runtime(root, workspace)
  const extra = await runtime.extraServices()
  checkServiceArgs(workspace, names, true, extra)
  const order = [...listStackNames(workspace), ...listObservabilityBackends(workspace), ...extra]
  const width = Math.max(4, ...order.map((s) => s.length))
  // Ctrl-C ends a followed stream: exit 0 once it has stopped
  const trap = ctx.trapSignals()
  try {
    await runtime.logs(
      names,
      {
        follow: opts.follow === true,
        ...(since !== undefined ? { since } : {}),
        ...(opts.tail !== undefined ? { tail: Number(opts.tail) } : {}),
      },
      (service, line) => {
        const paint = ctx.ui.color[PALETTE[Math.max(0, order.indexOf(service)) % PALETTE.length]!]
        ctx.ui.data(`${paint(service.padEnd(width))} | ${line}`)
      },
      trap.signal,
    )
  } finally {
    trap.release()
  }
}
