import type Dockerode from 'dockerode'
import type { ProbeSpec } from '../../core/chaos/experiment.js'
import type { ProbeResult } from '../../core/chaos/journal.js'
import { judgeThresholds, summarizeLatencies, type LoadSummary } from '../../core/chaos/load-probe.js'
import { compare, formatComparison, selectSeries } from '../../core/chaos/metrics.js'
import type { Workspace } from '../../core/workspace/model.js'
import { findRunning } from './targets.js'

/**
 * The seam to the load engine: a constant-rate run against a URL, summarised. msvc's load engine
 * (src/core/loadtest, src/io/load) plugs in here; until then `runInterimLoad` stands in.
 */
export type LoadRunner = (o: {
  url: string
  rate: number
  durationMs: number
  signal?: AbortSignal
}) => Promise<LoadSummary>

/**
 * Stand-in load run: an open model at a constant rate with fetch, latency measured from each
 * request's intended send time (so a stall is not hidden), percentiles by sorting. Good for the
 * short runs a probe makes (hundreds of requests), not for benchmarks.
 */
export const runInterimLoad: LoadRunner = async ({ url, rate, durationMs, signal }) => {
  const latencies: number[] = []
  let errors = 0
  const t0 = performance.now()
  const total = Math.max(1, Math.round((rate * durationMs) / 1000))
  const inflight: Promise<void>[] = []
  for (let i = 0; i < total && !signal?.aborted; i++) {
    const intended = t0 + (i * 1000) / rate
    const wait = intended - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    inflight.push(
      fetch(url, { signal: AbortSignal.timeout(10_000) })
        .then(async (r) => {
          await r.arrayBuffer()
          if (!r.ok) errors++
        })
        .catch(() => {
          errors++
        })
        .finally(() => latencies.push(performance.now() - intended)),
    )
  }
  await Promise.all(inflight)
  return summarizeLatencies(latencies, errors)
}

/** Where a probe reaches a service: its published port, or its first replica's address. */
export async function serviceBaseUrl(d: Dockerode, ws: Workspace, service: string): Promise<string> {
  const s = ws.services[service]!
  if (s.replicas === 1) return `http://127.0.0.1:${s.ports.http}`
  const [first] = await findRunning(d, ws, service)
  return `http://${first?.ips[0] ?? '127.0.0.1'}:${s.ports.http}`
}

/** Runs one probe; never throws (a failure is a result). */
export async function runProbe(
  probe: ProbeSpec,
  env: { d: Dockerode; ws: Workspace; load?: LoadRunner; signal?: AbortSignal },
): Promise<ProbeResult> {
  const startedAt = new Date()
  const t0 = performance.now()
  const done = (ok: boolean, detail: string, value?: unknown): ProbeResult => ({
    name: probe.name,
    type: probe.type,
    ok,
    ...(value !== undefined ? { value } : {}),
    detail,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
  })
  try {
    if (probe.type === 'http') {
      const url = probe.url ?? `${await serviceBaseUrl(env.d, env.ws, probe.service!)}${probe.path}`
      const r = await fetch(url, { method: probe.method, signal: AbortSignal.timeout(probe.timeoutMs) })
      await r.arrayBuffer().catch(() => {})
      const ms = Math.round(performance.now() - t0)
      if (!probe.expect.includes(r.status))
        return done(false, `answered ${r.status}, expected ${probe.expect.join(' or ')}`, r.status)
      if (probe.maxLatencyMs !== undefined && ms > probe.maxLatencyMs)
        return done(false, `answered ${r.status} in ${ms} ms, over ${probe.maxLatencyMs} ms`, r.status)
      return done(true, `${r.status} in ${ms} ms`, r.status)
    }
    if (probe.type === 'metric') {
      const url = `${await serviceBaseUrl(env.d, env.ws, probe.service)}${probe.path}`
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) })
      const text = await r.text()
      if (!r.ok) return done(false, `${url} answered ${r.status}`)
      const { value, matched } = selectSeries(text, probe.series)
      if (matched === 0) return done(false, `no series matched in ${probe.service}${probe.path}`)
      const ok = compare(value, probe.expect)
      return done(ok, `${value}${ok ? '' : `, expected ${formatComparison(probe.expect)}`}`, value)
    }
    const url = `${await serviceBaseUrl(env.d, env.ws, probe.service)}${probe.path}`
    const summary = await (env.load ?? runInterimLoad)({
      url,
      rate: probe.rate,
      durationMs: probe.durationMs,
      ...(env.signal ? { signal: env.signal } : {}),
    })
    const judged = judgeThresholds(summary, probe.thresholds)
    const failed = judged.filter((j) => !j.ok)
    const desc = `${summary.requests} requests, p99 ${summary.p99.toFixed(0)} ms, errors ${((summary.errors / Math.max(1, summary.requests)) * 100).toFixed(1)}%`
    return done(
      failed.length === 0,
      failed.length ? `${desc}; broke ${failed.map((f) => f.threshold).join(', ')}` : desc,
      summary,
    )
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    return done(false, err.name === 'TimeoutError' ? 'timed out' : (err.cause?.code ?? err.message))
  }
}
