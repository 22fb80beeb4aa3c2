import type { Ctx } from '../context.js'
import { loadWorkspace } from '../io/workspace.js'

export interface LsCliOptions {
  json?: boolean
}

/** `msvc ls`: the services with their ports and capabilities. */
export async function runLs(opts: LsCliOptions, ctx: Ctx): Promise<void> {
  const { workspace } = await loadWorkspace(ctx.cwd)
  const services = Object.entries(workspace.services).map(([name, s]) => ({ name, ...s }))
  if (opts.json) return ctx.ui.json({ name: workspace.name, services, events: workspace.events })
  if (services.length === 0) {
    ctx.ui.info(`workspace ${workspace.name} has no services yet; add one with: msvc add <name> --http`)
    return
  }
  ctx.ui.table(
    services.map((s) => [
      s.name,
      s.capabilities.join(',') || '-',
      String(s.ports.http),
      s.ports.grpc !== undefined ? String(s.ports.grpc) : '-',
      s.calls.join(',') || '-',
      s.publishes.join(',') || '-',
      s.subscribes.join(',') || '-',
    ]),
    ['SERVICE', 'CAPABILITIES', 'HTTP', 'GRPC', 'CALLS', 'PUBLISHES', 'SUBSCRIBES'],
  )
}
