import { rm, writeFile } from 'node:fs/promises'
import type { Logger } from './logger.js'

/** A readiness check: resolves true (or `{ ok: true }`) when the dependency is usable. */
export type ReadinessCheck = () => Promise<boolean | { ok: boolean; detail?: string }> | boolean

export interface ReadinessReport {
  ready: boolean
  checks: { name: string; ok: boolean; detail?: string }[]
}

/** Readiness checks by name; not ready while any fails or once shutdown has begun. */
export class HealthRegistry {
  private readonly checks = new Map<string, ReadinessCheck>()
  private shuttingDown = false

  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check)
  }

  /** After this, readiness is false for good: load balancers stop sending work. */
  markShuttingDown(): void {
    this.shuttingDown = true
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown
  }

  async readiness(timeoutMs = 2000): Promise<ReadinessReport> {
    const checks = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          const r = await withDeadline(Promise.resolve(check()), timeoutMs)
          const ok = typeof r === 'boolean' ? r : r.ok
          const detail = typeof r === 'boolean' ? undefined : r.detail
          return { name, ok, ...(detail ? { detail } : {}) }
        } catch (e) {
          return { name, ok: false, detail: (e as Error).message }
        }
      }),
    )
    if (this.shuttingDown) checks.push({ name: 'shutdown', ok: false, detail: 'shutting down' })
    return { ready: checks.every((c) => c.ok), checks }
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`check timed out after ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}

/**
 * While the service is ready, rewrites the file `path` (holding `contents`: the port it serves on,
 * which the check compares with the one it expects) every `everyMs`; while it is not (a
 * check failing, shutting down), removes it. The container's health check (`msvc compose`) then
 * only compares the file's age with the clock: a `stat`, where a probe over HTTP would start a
 * Node process every second (about 0.12 of a core per service, idle). A service whose event loop
 * hangs stops rewriting it, and turns unhealthy as a hung HTTP probe would. Returns a stop
 * function, which removes the file.
 */
export function keepReadyFile(
  health: HealthRegistry,
  path: string,
  opts: { everyMs?: number; logger?: Pick<Logger, 'warn'>; contents?: string } = {},
): () => Promise<void> {
  const everyMs = opts.everyMs ?? 500
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let last: Promise<unknown> = Promise.resolve()
  const tick = async () => {
    const { ready } = await health.readiness(Math.min(2000, everyMs * 4))
    if (stopped) return
    await (ready ? writeFile(path, opts.contents ?? '') : rm(path, { force: true }))
  }
  let warned = false
  const loop = () => {
    last = tick()
      .catch((err: unknown) => {
        // a file that cannot be written leaves the container unhealthy: say why, once
        if (!warned) opts.logger?.warn({ err, path }, 'health: cannot keep the ready file')
        warned = true
      })
      .finally(() => {
        if (!stopped) {
          timer = setTimeout(loop, everyMs)
          timer.unref()
        }
      })
  }
  loop()
  return async () => {
    stopped = true
    clearTimeout(timer)
    await last
    await rm(path, { force: true })
  }
}
