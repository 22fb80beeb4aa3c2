import type { Ctx } from '../context.js'
import { openWorkspace } from './stack-workspace.js'

export interface PsCliOptions {
  json?: boolean
}

/** `msvc ps`: state, health, restarts, ports and uptime per container. */
export async function runPs(opts: PsCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx)
  const runtime = await ctx.runtime(root, workspace)
  const rows = await runtime.ps()
  if (opts.json) return ctx.ui.json(rows)
  if (rows.length === 0) return ctx.ui.info(`no containers of ${workspace.name}; start them with msvc up`)
  const c = ctx.ui.color
  ctx.ui.table(
    rows.map((r) => [
      r.service,
      r.name,
      r.state,
      r.health === 'healthy' ? c.green(r.health) : r.health === 'unhealthy' ? c.red(r.health) : r.health,
      String(r.restarts),
      r.ports.join(', ') || '-',
      r.uptimeSeconds !== undefined ? formatUptime(r.uptimeSeconds) : '-',
    ]),
    ['SERVICE', 'CONTAINER', 'STATE', 'HEALTH', 'RESTARTS', 'PORTS', 'UPTIME'],
  )
}

export function formatUptime(s: number): string {
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
}
