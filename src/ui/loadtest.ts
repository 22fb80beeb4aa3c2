/** Terminal output of `msvc loadtest`: the live line on a TTY and the summary table. */
import type { FlowReport } from '../core/loadtest/flow-stats.js'
import type { LoadReport, SecondPoint } from '../core/loadtest/report.js'
import { formatTable } from './ui.js'

const fmtMs = (v: number) =>
  v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`
const pct = (f: number) => `${(f * 100).toFixed(2)}%`

/** One line, rewritten in place each second: elapsed, rate achieved vs target, p99, errors. */
export function formatLiveLine(
  p: SecondPoint,
  totals: { requests: number; errors: number; elapsedMs: number; inFlight?: number },
  totalMs: number | undefined,
): string {
  const elapsed = `${Math.round(totals.elapsedMs / 1000)}s${totalMs ? `/${Math.round(totalMs / 1000)}s` : ''}`
  const rate = `${p.requests}${p.targetRate !== undefined ? `/${p.targetRate}` : ''} req/s`
  const errors = totals.requests ? pct(totals.errors / totals.requests) : '0.00%'
  const inFlight = totals.inFlight !== undefined ? `  in flight ${totals.inFlight}` : ''
  return `${elapsed}  ${rate}  p99 ${fmtMs(p.p99)}  errors ${totals.errors} (${errors})${inFlight}`
}

/** The summary: the run, latency per endpoint and overall, send lag, thresholds. */
export function formatSummary(r: LoadReport, bold: (s: string) => string = (s) => s): string {
  const lines: string[] = []
  const rate =
    r.targetRate !== undefined
      ? `${r.achievedRate.toFixed(1)} req/s of ${r.targetRate.toFixed(1)} scheduled${r.flows?.length ? ' (requests and flow iterations; later flow steps follow their answers)' : ''}`
      : `${r.achievedRate.toFixed(1)} req/s`
  lines.push(
    `${r.model === 'open' ? 'open model' : `closed model, ${r.connections} connections${r.pipelining && r.pipelining > 1 ? ` x ${r.pipelining} pipelined` : ''}`} against ${r.target}: ${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s, ${rate}, errors ${r.errors} (${pct(r.errorRate)})`,
  )
  lines.push(
    r.model === 'open'
      ? "latency from each request's intended send time (no coordinated omission)"
      : 'latency from each actual send (closed model: a stall delays the next sends and hides itself)',
  )
  if (r.warmup)
    lines.push(
      `after a warm-up of ${(r.warmup.durationMs / 1000).toFixed(1)} s: ${r.warmup.requests} requests, ${r.warmup.errors} errors, none of them in these figures`,
    )
  lines.push('')
  const row = (name: string, n: number, e: number, l: LoadReport['latency']) => [
    name,
    String(n),
    String(e),
    fmtMs(l.p50),
    fmtMs(l.p90),
    fmtMs(l.p99),
    fmtMs(l.p999),
    fmtMs(l.max),
  ]
  const rows = r.endpoints.map((e) => row(e.name, e.requests, e.errors, e.latency))
  if (r.endpoints.length > 1) rows.push(row('all', r.requests, r.errors, r.latency))
  lines.push(formatTable(rows, ['endpoint', 'requests', 'errors', 'p50', 'p90', 'p99', 'p99.9', 'max'], bold))
  if (r.flows?.length) lines.push('', ...formatFlows(r.flows))
  const statuses = new Map<string, number>()
  for (const e of r.endpoints)
    for (const [s, n] of Object.entries(e.statuses)) statuses.set(s, (statuses.get(s) ?? 0) + n)
  lines.push('')
  lines.push(
    `statuses: ${[...statuses]
      .sort()
      .map(([s, n]) => `${s === '0' ? 'no answer' : s} ${n}`)
      .join(', ')}`,
  )
  if (r.sendLag)
    lines.push(
      `send lag behind schedule: p50 ${fmtMs(r.sendLag.p50)}, p99 ${fmtMs(r.sendLag.p99)}, max ${fmtMs(r.sendLag.max)}; ${r.sendLag.late} sends more than ${r.sendLag.lateAfterMs} ms late`,
    )
  if (r.connectionsOpened)
    lines.push(
      `connections: ${r.connectionsOpened} opened, ${r.connectionsReused} requests sent on one already used`,
    )
  lines.push(
    `generator: CPU ${r.generator.cpu.toFixed(2)} cores, event loop busy ${Math.round(r.generator.eventLoop * 100)} %`,
  )
  if (r.unfinished)
    lines.push(`${r.unfinished} requests were still unanswered at the end (counted as errors)`)
  if (r.chaos.length)
    lines.push(
      `chaos: ${r.chaos.map((c) => `${c.label} ${(c.startMs / 1000).toFixed(1)}s..${(c.endMs / 1000).toFixed(1)}s`).join(', ')}`,
    )
  if (r.phases) {
    const at = (ms: number) => `${(ms / 1000).toFixed(1)}s`
    lines.push(
      `phases (recovery: until healthy again + ${at(r.settleMs ?? 0)}; requests by the second they were due in):`,
    )
    for (const p of r.phases)
      lines.push(
        `  ${p.phase.padEnd(8)} ${p.spans.map((s) => `${at(s.startMs)}..${at(s.endMs)}`).join(', ')}: ${p.requests} requests, errors ${pct(p.errorRate)}, p50 ${fmtMs(p.latency.p50)}, p99 ${fmtMs(p.latency.p99)}, max ${fmtMs(p.latency.max)}`,
      )
  }
  if (r.generator.saturated) {
    lines.push('')
    lines.push(bold('⚠ these figures describe the load generator, not only the system:'))
    for (const reason of r.generator.reasons) lines.push(`  ${reason}`)
    if (r.generator.hint) lines.push(`  ${r.generator.hint}`)
  }
  if (r.thresholds.length) {
    lines.push('')
    for (const t of r.thresholds) {
      const actual = t.stat === 'errors' ? pct(t.actual) : fmtMs(t.actual)
      const mark = t.ok ? '✔' : t.trusted === false ? '?' : '✖'
      const note = t.trusted === false ? '; not judged: the generator may account for it' : ''
      lines.push(`${mark} ${t.threshold} (actual ${actual}${note})`)
    }
  }
  return lines.join('\n')
}

/**
 * The flows: iterations, end to end latency, and per step its checks and why iterations stopped
 * there (each step's own latency is its row in the endpoint table).
 */
export function formatFlows(flows: FlowReport[]): string[] {
  const lines: string[] = []
  for (const f of flows) {
    const l = f.latency
    lines.push(
      `flow ${f.name}: ${f.iterations} iterations, ${f.completed} completed, ${f.stopped} stopped; end to end p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)}, max ${fmtMs(l.max)}`,
    )
    for (const s of f.steps) {
      for (const c of s.checks)
        lines.push(
          `  ${c.failed ? '✖' : '✔'} ${s.name}: check ${c.check}: ${c.passed} passed, ${c.failed} failed`,
        )
      for (const [why, n] of Object.entries(s.stops)) lines.push(`  ✖ ${s.name}: ${n} stopped: ${why}`)
    }
  }
  return lines
}
