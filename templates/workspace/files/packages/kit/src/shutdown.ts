import type { HealthRegistry } from './health.js'
import type { Logger } from './logger.js'

export interface ShutdownOptions {
  logger: Logger
  health: HealthRegistry
  /** closes servers; resolves once in-flight work has drained */
  close: () => Promise<void>
  /** run after the servers closed, in order (flush, disconnect) */
  hooks?: (() => Promise<void>)[]
  /** longest wait before giving up with exit code 1 */
  timeoutMs: number
  exit?: (code: number) => void
  signals?: NodeJS.Signals[]
}

/**
 * On SIGTERM or SIGINT: readiness goes false, servers stop accepting and drain in-flight work,
 * hooks run, the process exits 0. If that takes longer than `timeoutMs`, it exits 1 with a log line.
 * Returns the shutdown function, for tests and for callers that stop on their own.
 */
export function handleShutdown(opts: ShutdownOptions): (reason: string) => Promise<void> {
  const exit = opts.exit ?? ((code: number) => process.exit(code))
  let started: Promise<void> | undefined
  const shutdown = (reason: string): Promise<void> => {
    started ??= (async () => {
      opts.logger.info({ reason }, 'shutting down: draining in-flight work')
      opts.health.markShuttingDown()
      const timer = setTimeout(() => {
        opts.logger.error({ timeoutMs: opts.timeoutMs }, 'shutdown timed out; exiting with in-flight work')
        exit(1)
      }, opts.timeoutMs)
      timer.unref()
      try {
        await opts.close()
        for (const hook of opts.hooks ?? []) await hook()
        opts.logger.info('shutdown complete')
        clearTimeout(timer)
        opts.logger.flush?.()
        exit(0)
      } catch (e) {
        clearTimeout(timer)
        opts.logger.error({ err: e }, 'shutdown failed')
        exit(1)
      }
    })()
    return started
  }
  for (const signal of opts.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[]))
    process.once(signal, () => void shutdown(signal))
  return shutdown
}
