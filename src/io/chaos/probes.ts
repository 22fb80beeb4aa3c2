import { type Engine } from '../engine.js'
import type { ProbeSpec } from '../../core/chaos/experiment.js'
import type { ProbeResult } from '../../core/chaos/journal.js'
import type { Journal } from '../../core/chaos/journal.js'
import { judgeThresholds, type LoadSummary } from '../../core/chaos/load-probe.js'
import { DEFAULT_SETTLE_MS, phaseReports, phaseSpans } from '../../core/loadtest/phases.js'
import { chaosWindows, type SentSecond } from '../../core/loadtest/report.js'
import {
  compare,
  formatComparison,
  resolveComparison,
  selectSeries,
  type Comparison,
} from '../../core/chaos/metrics.js'
import { selectJsonPath, type PathStep } from '../../core/loadtest/json-path.js'
import { publishesPorts, type Workspace } from '../../core/workspace/model.js'
import { findRunning } from './targets.js'

/**
 * The seam to the load generator: a constant-rate run against a URL, summarised. By default msvc's
 * own engine (open model, latency from the intended send time; src/io/loadtest/probe-runner.ts),
 * imported only when an experiment has a load probe.
 */
export type LoadRunner = (o: {
  url: string
  method?: 'GET' | 'POST'
  /** a POST's JSON body */
  body?: string
  /** the statuses that count as answered well (default 200-399) */
  expect?: number[]
  rate: number
  durationMs: number
  signal?: AbortSignal
  /** also give the requests by the second they were due in (`run`), for thresholds of a phase */
  keepSeconds?: boolean
}) => Promise<LoadSummary & { run?: { startMs: number; durationMs: number; sent?: SentSecond[] } }>

/** Where a probe reaches a service: its published port, or its first replica's address. */
export async function serviceBaseUrl(d: Engine, ws: Workspace, service: string): Promise<string> {
  const s = ws.services[service]!
  if (publishesPorts(ws, service)) return `http://127.0.0.1:${s.ports.http}`
  const [first] = await findRunning(d, ws, service)
  return `http://${first?.ips[0] ?? '127.0.0.1'}:${s.ports.http}`
}

/**
 * Runs one probe; never throws (a failure is a result). `values`: the numbers of the probes run
 * before it in the same hypothesis, by name, which its comparison may name (`== @captured`).
 */
export async function runProbe(
  probe: ProbeSpec,
  env: {
    d: Engine
    ws: Workspace
    load?: LoadRunner
    signal?: AbortSignal
    /** a probe of the method: the experiment's journal, whose faults cut a load probe's phases */
    journal?: Journal
  },
  values: ReadonlyMap<string, number> = new Map(),
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
  /** the probe's number judged by its comparison, once the probes it names have theirs */
  const judgeValue = (value: number, c: Comparison | undefined): ProbeResult => {
    if (!c) return done(true, String(value), value)
    const resolved = resolveComparison(c, values)
    if (!resolved.ok) return done(false, `${value}; probe ${resolved.missing} gave no number`, value)
    const ok = compare(value, resolved.comparison)
    return done(ok, `${value}${ok ? '' : `, expected ${formatComparison(resolved.comparison, c)}`}`, value)
  }
  try {
    if (probe.type === 'http') {
      const url = probe.url ?? `${await serviceBaseUrl(env.d, env.ws, probe.service!)}${probe.path}`
      const r = await fetch(url, { method: probe.method, signal: AbortSignal.timeout(probe.timeoutMs) })
      const text = await r.text().catch(() => '')
      const ms = Math.round(performance.now() - t0)
      if (!probe.expect.includes(r.status))
        return done(false, `answered ${r.status}, expected ${probe.expect.join(' or ')}`, r.status)
      if (probe.maxLatencyMs !== undefined && ms > probe.maxLatencyMs)
        return done(false, `answered ${r.status} in ${ms} ms, over ${probe.maxLatencyMs} ms`, r.status)
      if (!probe.value) return done(true, `${r.status} in ${ms} ms`, r.status)
      const value = numberAt(text, probe.value.path)
      if (value === undefined)
        return done(false, `answered ${r.status} with no number at ${probe.value.text}`)
      return judgeValue(value, probe.is)
    }
    if (probe.type === 'metric') {
      const url = `${await serviceBaseUrl(env.d, env.ws, probe.service)}${probe.path}`
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) })
      const text = await r.text()
      if (!r.ok) return done(false, `${url} answered ${r.status}`)
      const { value, matched } = selectSeries(text, probe.series)
      if (matched === 0) return done(false, `no series matched in ${probe.service}${probe.path}`)
      return judgeValue(value, probe.expect)
    }
    const url = `${await serviceBaseUrl(env.d, env.ws, probe.service)}${probe.path}`
    const load = env.load ?? (await import('../loadtest/probe-runner.js')).engineLoadRunner
    const phased = probe.thresholds.some((t) => t.phase)
    const { run, ...summary } = await load({
      url,
      method: probe.method,
      ...(probe.body !== undefined ? { body: probe.body } : {}),
      ...(probe.expect ? { expect: probe.expect } : {}),
      rate: probe.rate,
      durationMs: probe.durationMs,
      ...(env.signal ? { signal: env.signal } : {}),
      ...(phased ? { keepSeconds: true } : {}),
    })
    // the faults of the method so far, on the probe's own clock; one still watched for its
    // recovery when the probe ended is recovering until its end
    const phases =
      phased && run?.sent
        ? phaseReports(
            phaseSpans(
              env.journal ? chaosWindows(env.journal, run.startMs, run.startMs + run.durationMs, true) : [],
              run.durationMs,
              DEFAULT_SETTLE_MS,
            ),
            run.sent,
          )
        : undefined
    const judged = judgeThresholds(summary, probe.thresholds, phases)
    const failed = judged.filter((j) => !j.ok)
    const desc = `${summary.requests} requests, p99 ${summary.p99.toFixed(0)} ms, errors ${((summary.errors / Math.max(1, summary.requests)) * 100).toFixed(1)}%`
    return done(
      failed.length === 0,
      failed.length
        ? `${desc}; broke ${failed.map((f) => (f.phase ? `${f.threshold} (${describePhase(f.phase, phases)})` : f.threshold)).join(', ')}`
        : desc,
      summary,
    )
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    return done(false, err.name === 'TimeoutError' ? 'timed out' : (err.cause?.code ?? err.message))
  }
}

/** "fault phase: 41.0 % errors, p99 1980 ms", or that the probe's run had none of it. */
function describePhase(phase: string, phases: ReturnType<typeof phaseReports> | undefined): string {
  const p = phases?.find((x) => x.phase === phase)
  if (!p?.requests) return `no requests in its ${phase} phase`
  return `${phase} phase: ${p.requests} requests, p99 ${p.latency.p99.toFixed(0)} ms, errors ${(p.errorRate * 100).toFixed(1)}%`
}

/** The number at `path` in a JSON answer; undefined when it is not JSON or holds no number there. */
function numberAt(text: string, path: PathStep[]): number | undefined {
  try {
    const v = selectJsonPath(JSON.parse(text), path)
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined
  } catch {
    return undefined
  }
}
