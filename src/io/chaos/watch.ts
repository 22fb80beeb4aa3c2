import type Dockerode from 'dockerode'
import { type Engine } from '../engine.js'
import { containerHealth } from '../../core/health.js'
import { computeRecovery, type RecoveryReport, type RecoverySample } from '../../core/chaos/recovery.js'

export const POLL_MS = 50

export interface WatchTarget {
  id: string
  name: string
  /** StartedAt before the fault: after a kill or restart, recovery needs a newer one */
  startedAt: string
  /** the service's HTTP port in the container; none for a database, whose healthcheck decides */
  httpPort?: number
}

export interface WatchOptions {
  from: number
  targets: WatchTarget[]
  newProcess: boolean
  probe?: string
  timeoutMs: number
  signal?: AbortSignal
  readyPath?: string
}

/** GET with a deadline; true for 2xx (or the expected status). */
async function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await r.arrayBuffer().catch(() => {})
    return r.ok
  } catch {
    return false
  }
}

/**
 * Watches targets until they recover: every 50 ms, Docker's view (inspect) and, without waiting for
 * the previous one, GET /health/ready on the published port (the container's address when it has
 * none) and the --probe. Probes that hang (a partition) do not slow the polling.
 */
export async function watchRecovery(d: Engine, o: WatchOptions): Promise<RecoveryReport> {
  const samples: RecoverySample[] = []
  const urls = new Map<string, string>()
  const inflight = new Set<Promise<void>>()
  const names = o.targets.map((t) => t.name)
  const deadline = o.from + o.timeoutMs
  const probeAsync = (source: 'ready' | 'probe', target: string, url: string) => {
    if (inflight.size > 40) return
    const sentAt = Date.now()
    const p = httpOk(url, 1000).then((ok) => {
      samples.push({ at: Date.now(), sentAt, source, target, ok })
    })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }
  for (;;) {
    const tick = Date.now()
    await Promise.all(
      o.targets.map(async (t) => {
        const sentAt = Date.now()
        const c = await d
          .getContainer(t.id)
          .inspect()
          .catch(() => undefined)
        const st = c?.State
        // the reading `msvc up` waits on, and for a kill or restart a process newer than the fault's target
        const ok =
          !!st && containerHealth(st).phase === 'healthy' && (!o.newProcess || st.StartedAt !== t.startedAt)
        samples.push({ at: Date.now(), sentAt, source: 'docker', target: t.name, ok })
        if (c && t.httpPort !== undefined) {
          const url = readyUrl(c, t.httpPort, o.readyPath ?? '/health/ready')
          if (url) urls.set(t.name, url)
        }
        const url = urls.get(t.name)
        // after a kill, the old process may still answer for a moment: ask only once Docker has seen the new one
        if (url && (!o.newProcess || st?.StartedAt !== t.startedAt)) probeAsync('ready', t.name, url)
      }),
    )
    if (o.probe) probeAsync('probe', o.probe, o.probe)
    const ready = o.targets.every((t) => t.httpPort !== undefined)
    const report = computeRecovery(samples, {
      from: o.from,
      targets: names,
      ready,
      ...(o.probe ? { probe: o.probe } : {}),
    })
    if (report.recovered || Date.now() > deadline || o.signal?.aborted) {
      if (!report.recovered)
        await Promise.race([Promise.all(inflight), new Promise((r) => setTimeout(r, 1100))])
      return report.recovered
        ? report
        : computeRecovery(samples, {
            from: o.from,
            targets: names,
            ready,
            ...(o.probe ? { probe: o.probe } : {}),
          })
    }
    await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - tick))))
  }
}

/** /health/ready on the published port (127.0.0.1), or on the container's address without one. */
function readyUrl(c: Dockerode.ContainerInspectInfo, httpPort: number, path: string): string | undefined {
  const bindings = c.NetworkSettings.Ports?.[`${httpPort}/tcp`]
  const hostPort = bindings?.find((b) => b.HostPort)?.HostPort
  if (hostPort) return `http://127.0.0.1:${hostPort}${path}`
  const ip = Object.values(c.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress
  return ip ? `http://${ip}:${httpPort}${path}` : undefined
}
