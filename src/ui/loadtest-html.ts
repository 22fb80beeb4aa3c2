/**
 * The HTML report of a load run: one self-contained file (inline CSS and SVG, no scripts, no
 * network) with latency percentiles and error rate per second, chaos fault windows shaded.
 */
import type { LoadReport, SecondPoint } from '../core/loadtest/report.js'

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const W = 900
const H = 260
const PAD = { l: 60, r: 20, t: 20, b: 30 }

interface Series {
  label: string
  color: string
  values: number[]
}

function niceMax(v: number): number {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

/** A line chart over seconds, with shaded chaos windows. */
export function renderChart(
  title: string,
  points: SecondPoint[],
  series: Series[],
  unit: (v: number) => string,
  windows: LoadReport['chaos'],
): string {
  const n = Math.max(1, points.length)
  const seconds = Math.max(1, ...points.map((p) => p.t + 1))
  const maxV = niceMax(Math.max(0, ...series.flatMap((s) => s.values)))
  const x = (t: number) => PAD.l + ((W - PAD.l - PAD.r) * t) / seconds
  const y = (v: number) => H - PAD.b - ((H - PAD.t - PAD.b) * v) / maxV
  const out: string[] = []
  out.push(`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`)
  for (const w of windows) {
    const x0 = x(w.startMs / 1000)
    const x1 = Math.max(x0 + 2, x(w.endMs / 1000))
    out.push(
      `<rect class="chaos" x="${x0.toFixed(1)}" y="${PAD.t}" width="${(x1 - x0).toFixed(1)}" height="${H - PAD.t - PAD.b}"><title>${esc(w.label)}</title></rect>`,
      `<text class="chaos-label" x="${(x0 + 3).toFixed(1)}" y="${PAD.t + 12}">${esc(w.label)}</text>`,
    )
  }
  for (let i = 0; i <= 4; i++) {
    const v = (maxV * i) / 4
    out.push(
      `<line class="grid" x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`,
      `<text class="axis" x="${PAD.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${esc(unit(v))}</text>`,
    )
  }
  const step = Math.max(1, Math.ceil(seconds / 10))
  for (let t = 0; t <= seconds; t += step)
    out.push(`<text class="axis" x="${x(t).toFixed(1)}" y="${H - 10}" text-anchor="middle">${t}s</text>`)
  for (const s of series) {
    const d = points
      .map((p, i) => `${i ? 'L' : 'M'}${x(p.t + 0.5).toFixed(1)},${y(s.values[i] ?? 0).toFixed(1)}`)
      .join('')
    if (n)
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"><title>${esc(s.label)}</title></path>`,
      )
  }
  out.push('</svg>')
  const legend = series
    .map((s) => `<span><i style="background:${s.color}"></i>${esc(s.label)}</span>`)
    .join('')
  return `<section><h2>${esc(title)}</h2><div class="legend">${legend}${windows.length ? '<span><i class="chaos-key"></i>chaos fault</span>' : ''}</div>${out.join('')}</section>`
}

const fmtMs = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v >= 10 ? 0 : 2)} ms`)

/** The whole report as one HTML document. */
export function renderHtmlReport(r: LoadReport, generatedBy: string): string {
  const tl = r.timeline
  const latency = renderChart(
    'Latency percentiles per second',
    tl,
    [
      { label: 'p50', color: '#2b8a3e', values: tl.map((p) => p.p50) },
      { label: 'p90', color: '#1971c2', values: tl.map((p) => p.p90) },
      { label: 'p99', color: '#e8590c', values: tl.map((p) => p.p99) },
      { label: 'p99.9', color: '#c92a2a', values: tl.map((p) => p.p999) },
    ],
    fmtMs,
    r.chaos,
  )
  const errors = renderChart(
    'Error rate per second',
    tl,
    [
      {
        label: 'errors',
        color: '#c92a2a',
        values: tl.map((p) => (p.requests ? (100 * p.errors) / p.requests : 0)),
      },
    ],
    (v) => `${v.toFixed(v < 10 ? 1 : 0)}%`,
    r.chaos,
  )
  const throughput = renderChart(
    'Requests per second',
    tl,
    [
      { label: 'answered', color: '#1971c2', values: tl.map((p) => p.requests) },
      ...(r.model === 'open'
        ? [{ label: 'scheduled', color: '#868e96', values: tl.map((p) => p.targetRate ?? 0) }]
        : []),
    ],
    (v) => `${Math.round(v)}`,
    r.chaos,
  )
  const row = (cells: string[]) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`
  const endpointRows = [
    ...r.endpoints.map((e) => ({ ...e })),
    ...(r.endpoints.length > 1
      ? [{ name: 'all', requests: r.requests, errors: r.errors, latency: r.latency, statuses: {} }]
      : []),
  ]
    .map((e) =>
      row([
        e.name,
        String(e.requests),
        String(e.errors),
        fmtMs(e.latency.p50),
        fmtMs(e.latency.p90),
        fmtMs(e.latency.p99),
        fmtMs(e.latency.p999),
        fmtMs(e.latency.max),
        // HTTP statuses by number, gRPC ones by name
        Object.entries(e.statuses)
          .map(([s, n]) => `${s === '0' ? 'no answer' : s} ${n}`)
          .join(', '),
      ]),
    )
    .join('')
  // flows: iterations and end to end latency, then each step's checks and stops
  const flowsSection = (r.flows ?? [])
    .map(
      (f) =>
        `<h2>Flow ${esc(f.name)}</h2><p>${f.iterations} iterations, ${f.completed} completed, ${f.stopped} stopped; end to end p50 ${esc(fmtMs(f.latency.p50))}, p99 ${esc(fmtMs(f.latency.p99))}, max ${esc(fmtMs(f.latency.max))}</p><ul>${f.steps
          .flatMap((st) => [
            ...st.checks.map(
              (c) =>
                `<li class="${c.failed ? 'bad' : 'ok'}">${esc(`${st.name}: check ${c.check}: ${c.passed} passed, ${c.failed} failed`)}</li>`,
            ),
            ...Object.entries(st.stops).map(
              ([why, n]) => `<li class="bad">${esc(`${st.name}: ${n} stopped: ${why}`)}</li>`,
            ),
          ])
          .join('')}</ul>`,
    )
    .join('')
  const thresholds = r.thresholds
    .map(
      (t) =>
        `<li class="${t.ok ? 'ok' : 'bad'}">${t.ok ? '✔' : t.trusted === false ? '?' : '✖'} ${esc(t.threshold)} (actual ${esc(t.stat === 'errors' ? `${(t.actual * 100).toFixed(2)}%` : fmtMs(t.actual))}${t.phase ? ` in the ${t.phase} phase` : ''}${t.trusted === false ? '; not judged: the generator may account for it' : ''})</li>`,
    )
    .join('')
  // a run with faults: its figures by phase, and where each phase lies on the timelines
  const at = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  const phasesSection = r.phases
    ? `<section id="phases"><h2>Phases</h2><p>Recovery lasts from a fault's end until its service answered healthy again, plus ${esc(at(r.settleMs ?? 0))}; requests count by the second they were due in, and a second that a fault (or a recovery) touched is that phase's.</p><table><tr><th>phase</th><th>when</th><th>requests</th><th>errors</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>${r.phases
        .map((p) =>
          row([
            p.phase,
            p.spans.map((s) => `${at(s.startMs)} – ${at(s.endMs)}`).join(', '),
            String(p.requests),
            `${p.errors} (${(p.errorRate * 100).toFixed(2)}%)`,
            fmtMs(p.latency.p50),
            fmtMs(p.latency.p90),
            fmtMs(p.latency.p99),
            fmtMs(p.latency.max),
          ]),
        )
        .join('')}</table></section>`
    : ''
  const verdict = r.thresholds.length
    ? r.passed
      ? 'thresholds passed'
      : r.thresholds.some((t) => !t.ok && t.trusted !== false)
        ? 'thresholds breached'
        : 'thresholds not judged: the generator was saturated'
    : 'no thresholds'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>msvc loadtest: ${esc(r.target)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#212529;max-width:960px}
h1{font-size:20px}h2{font-size:16px;margin:24px 0 4px}
table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #dee2e6}td:first-child,th:first-child{text-align:left}
svg{width:100%;height:auto;background:#fff}.grid{stroke:#e9ecef}.axis{font-size:11px;fill:#868e96}
.chaos{fill:#fa5252;fill-opacity:.15;stroke:#fa5252;stroke-opacity:.5}.chaos-label{font-size:11px;fill:#c92a2a}
.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.legend i.chaos-key{height:10px;background:#fa5252;opacity:.3}.ok{color:#2b8a3e}.bad{color:#c92a2a}
</style></head><body>
<h1>Load test of ${esc(r.target)}</h1>
<p>${esc(r.model === 'open' ? `Open model: ${r.targetRate?.toFixed(1) ?? '?'} req/s scheduled, latency from each intended send time.` : `Closed model: ${r.connections} connections, latency from each actual send.`)}
Started ${esc(r.startedAt)}, ${(r.durationMs / 1000).toFixed(1)} s, ${r.requests} requests, ${r.achievedRate.toFixed(1)} req/s, errors ${r.errors} (${(r.errorRate * 100).toFixed(2)}%).
${r.warmup ? `After a warm-up of ${(r.warmup.durationMs / 1000).toFixed(1)} s (${r.warmup.requests} requests, ${r.warmup.errors} errors), in none of these figures.` : ''}
${r.sendLag ? `Send lag p99 ${esc(fmtMs(r.sendLag.p99))}; ${r.sendLag.late} sends more than ${r.sendLag.lateAfterMs} ms late.` : ''} Generator: CPU ${r.generator.cpu.toFixed(2)} cores, event loop busy ${Math.round(r.generator.eventLoop * 100)} %. <strong class="${r.passed ? 'ok' : 'bad'}">${verdict}</strong></p>
${r.generator.saturated ? `<section class="bad" id="generator-saturated"><h2>These figures describe the load generator</h2><ul>${r.generator.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul><p>${esc(r.generator.hint ?? '')}</p></section>` : ''}
${thresholds ? `<ul>${thresholds}</ul>` : ''}
${r.chaosFailures?.length ? `<section class="bad"><h2>Chaos faults that failed</h2><ul>${r.chaosFailures.map((f) => `<li>✖ ${esc(f)}</li>`).join('')}</ul><p>This run did not have the faults it asked for; msvc exited 1.</p></section>` : ''}
${phasesSection}
<table><tr><th>endpoint</th><th>requests</th><th>errors</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>statuses</th></tr>${endpointRows}</table>
${flowsSection}
${latency}
${errors}
${throughput}
<p style="color:#868e96">${esc(generatedBy)}</p>
</body></html>
`
}
