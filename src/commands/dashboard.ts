import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Ctx } from '../context.js'
import { UserError } from '../errors.js'
import { loadWorkspace } from '../io/workspace.js'
import { findDashboard, startDashboardProcess, stopDashboard } from '../io/dashboard/process.js'

export interface DashboardCliOptions {
  port?: string
  otlpPort?: string
  foreground?: boolean
  open?: boolean
  stop?: boolean
  json?: boolean
}

/** A port flag as a number, 0-65535: 0 is any free port (--port), no listener of its own (--otlp-port). */
export function toPortOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > 65535)
    throw new UserError(`${flag} "${value}" is not a port`, `for example ${flag} ${fallback}`)
  return n
}

/**
 * `msvc dashboard`: (re)starts the workspace's dashboard in the background and prints its URL
 * (opening a browser on a terminal); `--foreground` runs it here; `--stop` stops it.
 */
export async function runDashboard(opts: DashboardCliOptions, ctx: Ctx): Promise<void> {
  const port = toPortOption(opts.port, '--port', 4400)
  const otlpPort = toPortOption(opts.otlpPort, '--otlp-port', 4318)
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  if (opts.stop) {
    const stopped = await stopDashboard(root)
    ctx.ui.info(stopped ? 'dashboard stopped' : 'no dashboard was running')
    return
  }
  if (opts.foreground) return runForeground(root, workspace, port, otlpPort, ctx)

  // "opens or restarts": a running one is replaced, so that new flags and a new msvc take effect
  if (await findDashboard(root)) await stopDashboard(root)
  const record = await ctx.ui.step('Starting the dashboard', () =>
    startDashboardProcess(root, { port, otlpPort }),
  )
  if (opts.json) return ctx.ui.json(record)
  ctx.ui.data(record.url)
  ctx.ui.info(
    ctx.ui.color.dim(
      `OTLP/HTTP on ${record.otlpAddresses.join(', ') || 'the dashboard port'}; msvc dashboard --stop stops it`,
    ),
  )
  if (opts.open !== false && ctx.interactive) openBrowser(record.url)
}

async function runForeground(
  root: string,
  workspace: Awaited<ReturnType<typeof loadWorkspace>>['workspace'],
  port: number,
  otlpPort: number,
  ctx: Ctx,
): Promise<void> {
  const { hostDashboard, watchEngineDeaths } = await import('../io/dashboard/host.js')
  const engine = await ctx.engine().catch((e: unknown) => {
    ctx.ui.warn(`${(e as Error).message}: the graph shows, health does not`)
    return undefined
  })
  const runtime = engine ? await ctx.runtime(root, workspace).catch(() => undefined) : undefined
  const trap = ctx.trapSignals()
  try {
    const hosted = await hostDashboard({
      root,
      ws: workspace,
      version: ctx.version,
      assetsDir: fileURLToPath(new URL('./dashboard/', import.meta.url)),
      port,
      otlpPort,
      ...(engine ? { engine, watchDeaths: watchEngineDeaths } : {}),
      ...(runtime
        ? {
            followLogs: (write, signal, from) =>
              runtime.logs([], { follow: true, ...from }, write, signal).catch(() => {}),
          }
        : {}),
      onWarning: (m) => ctx.ui.warn(m),
    })
    ctx.ui.info(`msvc dashboard of ${workspace.name}: ${hosted.record.url}`)
    ctx.ui.info(ctx.ui.color.dim(`OTLP/HTTP on ${hosted.record.otlpAddresses.join(', ')}`))
    const why = await Promise.race([
      new Promise<string>((resolve) => trap.signal.addEventListener('abort', () => resolve('stopped'))),
      hosted.ended,
    ])
    await hosted.close()
    ctx.ui.info(`dashboard ${why}`)
  } finally {
    trap.release()
  }
}

/** The system's browser, detached; a failure only means no browser opened. */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  try {
    spawn(cmd, [url], { detached: true, stdio: 'ignore' })
      .on('error', () => {})
      .unref()
  } catch {
    // no opener: the URL is printed
  }
}
