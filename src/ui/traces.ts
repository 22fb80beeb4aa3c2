/**
 * `msvc traces` (issue #18): recent traces as waterfalls in the terminal, for those who stay there.
 * Pure: a trace's summary and waterfall rows (as the dashboard's API gives them) in, lines out.
 * Names come from the services' spans, so control characters are flattened (oneLine): a span name
 * must not move the cursor or change the terminal's colours.
 */
import type { TraceSummary, WaterfallRow } from '../core/dashboard/spans.js'
import { formatElapsed, oneLine } from './saga.js'

export interface WaterfallStyle {
  /** colours an error span's line */
  error(text: string): string
  dim(text: string): string
}

const PLAIN: WaterfallStyle = { error: (t) => t, dim: (t) => t }

/** The header and one line a span: indented name, a bar placed on the trace's length, the duration. */
export function formatWaterfall(
  summary: TraceSummary,
  rows: readonly WaterfallRow[],
  o: { barWidth?: number; nameWidth?: number; style?: WaterfallStyle } = {},
): string[] {
  const barWidth = o.barWidth ?? 30
  const nameWidth = o.nameWidth ?? 48
  const style = o.style ?? PLAIN
  const total = Math.max(summary.durationMs, 0.001)
  const errors = summary.errorCount ? `, ${summary.errorCount} error${summary.errorCount > 1 ? 's' : ''}` : ''
  const lines = [
    `${summary.traceId}  ${oneLine(`${summary.rootService}: ${summary.rootName}`, 60)}  ${formatMs(summary.durationMs)}  ` +
      style.dim(`${summary.spanCount} spans${errors}${summary.partial ? ', partial' : ''}`),
  ]
  for (const r of rows) {
    const s = r.span
    const from = Math.min(barWidth - 1, Math.floor(((s.startMs - summary.startMs) / total) * barWidth))
    const len = Math.max(1, Math.min(barWidth - from, Math.round((s.durationMs / total) * barWidth)))
    const bar =
      ' '.repeat(Math.max(0, from)) + '█'.repeat(len) + ' '.repeat(Math.max(0, barWidth - from - len))
    const indent = '  '.repeat(Math.min(r.depth, 12))
    const name =
      indent +
      oneLine(`${r.orphan ? '… ' : ''}${s.service} ${s.name}`, Math.max(8, nameWidth - indent.length))
    const line = `  ${name.padEnd(nameWidth)} │${bar}│ ${formatMs(s.durationMs).padStart(9)}`
    lines.push(
      s.status === 'error' ? style.error(`${line}  ${oneLine(s.statusMessage ?? 'error', 40)}`) : line,
    )
  }
  return lines
}

/** 0.42 ms, 12.3 ms, 1.25 s. */
export const formatMs = (ms: number): string =>
  ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : formatElapsed(ms)
