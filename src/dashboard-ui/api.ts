/** The dashboard's API, as the page reads it: the server's types, fetched as JSON. */
import type { SystemGraph } from '../core/dashboard/graph.js'
import type { LogEntry } from '../core/dashboard/logs.js'
import type { RunSummary } from '../core/dashboard/runs.js'
import type { SpanStoreStats, TraceSummary, WaterfallRow } from '../core/dashboard/spans.js'
import type { HealthSnapshot, RedPoint } from '../core/dashboard/status.js'

export type { SystemGraph, LogEntry, RunSummary, TraceSummary, WaterfallRow, HealthSnapshot, RedPoint }

export async function getJson<T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v)
  const s = q.toString()
  const r = await fetch(s ? `${path}?${s}` : path)
  if (!r.ok) throw new Error(`${path}: ${r.status}`)
  return (await r.json()) as T
}

export interface TracesAnswer {
  traces: TraceSummary[]
  stats: SpanStoreStats
}

export interface TraceAnswer {
  summary: TraceSummary
  rows: WaterfallRow[]
}
