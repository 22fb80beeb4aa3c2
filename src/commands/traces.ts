import type { TraceSummary, WaterfallRow } from '../core/dashboard/spans.js'
import type { Ctx } from '../context.js'
import { UserError } from '../errors.js'
import { findDashboard } from '../io/dashboard/process.js'
import { loadWorkspace } from '../io/workspace.js'
import { formatWaterfall } from '../ui/traces.js'
import { durationFlag } from './flags.js'

export interface TracesCliOptions {
  service?: string
  slowerThan?: string
  errors?: boolean
  limit?: string
  follow?: boolean
  json?: boolean
}

/**
 * `msvc traces`: recent traces of the workspace's dashboard (which holds them: the services export
 * to it) as waterfalls in the terminal, oldest first so the newest ends up last; `--follow` prints
 * new ones as they arrive, until Ctrl-C.
 */
export async function runTraces(opts: TracesCliOptions, ctx: Ctx): Promise<void> {
  const minMs =
    opts.slowerThan !== undefined ? durationFlag(opts.slowerThan, '--slower-than', '100ms') : undefined
  const limit = opts.limit !== undefined ? Number(opts.limit) : 10
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UserError(`--limit "${opts.limit}" is not a number of traces`, 'for example --limit 20')
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  if (opts.service && !workspace.services[opts.service])
    throw new UserError(
      `unknown service "${opts.service}"`,
      `services: ${Object.keys(workspace.services).join(', ')}`,
    )
  const dashboard = await findDashboard(root)
  if (!dashboard)
    throw new UserError(
      `no dashboard runs for ${workspace.name}: it holds the traces`,
      'msvc up starts it, or msvc dashboard',
    )
  const query = new URLSearchParams({ limit: String(limit) })
  if (opts.service) query.set('service', opts.service)
  if (minMs !== undefined) query.set('minMs', String(minMs))
  if (opts.errors) query.set('status', 'error')
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${dashboard.url}${path}`, { signal: AbortSignal.timeout(5000) })
    if (!r.ok)
      throw new UserError(`the dashboard answered ${r.status} to ${path}`, 'msvc dashboard restarts it')
    return (await r.json()) as T
  }
  const c = ctx.ui.color
  const style = { error: (t: string) => c.red(t), dim: (t: string) => c.dim(t) }
  const seen = new Set<string>()
  const show = async () => {
    const { traces } = await get<{ traces: TraceSummary[] }>(`/api/traces?${query}`)
    const fresh = traces.filter((t) => !seen.has(t.traceId)).reverse()
    for (const t of fresh) {
      const trace = await get<{ summary: TraceSummary; rows: WaterfallRow[] }>(
        `/api/traces/${t.traceId}`,
      ).catch(() => undefined)
      if (!trace) continue
      seen.add(t.traceId)
      if (opts.json) ctx.ui.data(JSON.stringify(trace))
      else ctx.ui.data(formatWaterfall(trace.summary, trace.rows, { style }).join('\n') + '\n')
    }
    return fresh.length
  }
  const shown = await show()
  if (!opts.follow) {
    if (shown === 0 && !opts.json)
      ctx.ui.info(`no traces match (the dashboard at ${dashboard.url} holds them)`)
    return
  }
  const trap = ctx.trapSignals()
  try {
    while (!trap.signal.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000)
        trap.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
      })
      if (!trap.signal.aborted) await show()
    }
  } finally {
    trap.release()
  }
}
