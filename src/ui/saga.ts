/**
 * `msvc saga ls` and `msvc saga show` (issue #17): sagas as a table, and one saga's steps as a
 * timeline with offsets, durations, errors and compensations. Pure: the command reads the rows.
 */
import type { SagaAttempt, SagaDetails, SagaSummary } from '../core/saga/view.js'
import { formatTable } from './ui.js'

/** 850 ms, 3.2 s, 2 min 5 s, 3 h 10 min: a duration at the precision a reader needs. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** One line of at most `max` characters: control characters and newlines shown as spaces. */
export function oneLine(text: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** The `msvc saga ls` table: newest first, as the rows come. */
export function formatSagaList(sagas: readonly SagaSummary[], now: number): string {
  const rows = sagas.map((s) => [
    s.id,
    s.name,
    s.state,
    s.step ?? '',
    `${formatElapsed(now - Date.parse(s.createdAt))} ago`,
    s.error ? oneLine(s.error, 60) : '',
  ])
  return formatTable(rows, ['ID', 'SAGA', 'STATE', 'STEP', 'STARTED', 'ERROR'])
}

/** `ok`, `timeout`...; `running` for an attempt that has not ended. */
const outcomeOf = (a: SagaAttempt) => a.outcome ?? 'running'

/**
 * `msvc saga show`: the saga's head, then each attempt in order: its offset from the saga's
 * start, step, phase (a compensation is marked), attempt number, outcome, duration and error;
 * a bar drawn to the saga's duration shows where each attempt fell.
 */
export function formatSagaDetails(s: SagaDetails, now: number, width = 24): string {
  const start = Date.parse(s.createdAt)
  const end = s.finishedAt ? Date.parse(s.finishedAt) : now
  const span = Math.max(end - start, 1)
  const lines = [
    `saga ${s.id}  ${s.name}  ${s.state}${s.finishedAt ? ` in ${formatElapsed(end - start)}` : ` for ${formatElapsed(end - start)}`}`,
  ]
  if (s.state !== 'completed' && s.state !== 'compensated' && s.step)
    lines.push(`  at step ${s.step} (attempt ${s.attempt})`)
  if (s.failedStep) lines.push(`  failed at step ${s.failedStep}: compensated in reverse from there`)
  if (s.error) lines.push(`  error: ${oneLine(s.error, 200)}`)
  const rows = s.timeline.map((a) => {
    const from = Date.parse(a.startedAt) - start
    const to = a.endedAt ? Date.parse(a.endedAt) - start : end - start
    const lo = Math.min(width - 1, Math.floor((from / span) * width))
    const hi = Math.max(lo + 1, Math.min(width, Math.ceil((to / span) * width)))
    const bar = `${' '.repeat(lo)}${(a.phase === 'compensate' ? '░' : '█').repeat(hi - lo)}${' '.repeat(width - hi)}`
    return [
      `+${formatElapsed(from)}`,
      a.step,
      a.phase === 'compensate' ? 'compensate' : 'call',
      `#${a.attempt}`,
      outcomeOf(a),
      a.durationMs !== undefined ? formatElapsed(a.durationMs) : '',
      `|${bar}|`,
      a.error ? oneLine(a.error, 60) : '',
    ]
  })
  if (rows.length)
    lines.push(
      '',
      formatTable(rows, ['AT', 'STEP', 'PHASE', 'TRY', 'OUTCOME', 'TOOK', 'TIMELINE', 'ERROR'])
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    )
  else lines.push('  no step has started yet')
  return lines.join('\n')
}
