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
