/**
 * The workspace's runs as the dashboard lists them (issue #18): load reports (`msvc loadtest
 * --json > file`) and chaos journals (`msvc chaos run --journal file`), recognised by their shape
 * whatever their file is called. Pure: a file's parsed JSON in, a summary (or nothing) out.
 */
import type { Journal } from '../chaos/journal.js'
import { chaosWindows, type ChaosWindow, type LoadReport } from '../loadtest/report.js'

export interface RunSummary {
  /** the file's path relative to the workspace root: also its id in the API */
  id: string
  kind: 'load' | 'chaos'
  /** the load target, or the experiment's title */
  title: string
  startedAt: string
  startMs: number
  durationMs: number
  /** load: thresholds passed; chaos: the hypothesis held */
  passed: boolean
  /** load: `passed`/`failed`; chaos: the journal's verdict */
  verdict: string
  /** fault windows, in ms since the run's start */
  faults: ChaosWindow[]
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v)

/** True for what `msvc loadtest --json` prints. */
export function isLoadReport(v: unknown): v is LoadReport {
  return (
    isObject(v) &&
    typeof v.target === 'string' &&
    (v.model === 'open' || v.model === 'closed') &&
    typeof v.startedAt === 'string' &&
    Array.isArray(v.timeline) &&
    isObject(v.latency)
  )
}

/** True for what `msvc chaos run --journal` writes. */
export function isJournal(v: unknown): v is Journal {
  return (
    isObject(v) &&
    isObject(v.experiment) &&
    typeof v.startedAt === 'string' &&
    Array.isArray(v.method) &&
    typeof v.workspace === 'string'
  )
}

/** The run a file holds, or undefined when it is neither a load report nor a chaos journal. */
export function toRunSummary(id: string, data: unknown): RunSummary | undefined {
  if (isLoadReport(data)) {
    const startMs = Date.parse(data.startedAt)
    if (!Number.isFinite(startMs)) return undefined
    return {
      id,
      kind: 'load',
      title: data.target,
      startedAt: data.startedAt,
      startMs,
      durationMs: data.durationMs,
      passed: data.passed,
      verdict: data.passed ? 'passed' : 'failed',
      faults: Array.isArray(data.chaos) ? data.chaos : [],
    }
  }
  if (isJournal(data)) {
    const startMs = Date.parse(data.startedAt)
    if (!Number.isFinite(startMs)) return undefined
    const durationMs = data.durationMs ?? (data.endedAt ? Date.parse(data.endedAt) - startMs : 0)
    return {
      id,
      kind: 'chaos',
      title: data.experiment.title || data.experiment.file,
      startedAt: data.startedAt,
      startMs,
      durationMs,
      passed: data.verdict === 'held',
      verdict: data.verdict ?? 'unfinished',
      faults: chaosWindows(data, startMs, startMs + Math.max(durationMs, 1)),
    }
  }
  return undefined
}

/** Newest first. */
export const sortRuns = (runs: RunSummary[]): RunSummary[] => [...runs].sort((a, b) => b.startMs - a.startMs)
