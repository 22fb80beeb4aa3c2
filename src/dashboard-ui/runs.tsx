/** The workspace's load reports and chaos journals: a load run's timeline with its fault windows. */
import { useEffect, useState } from 'preact/hooks'
import type { LoadReport } from '../core/loadtest/report.js'
import type { Journal } from '../core/chaos/journal.js'
import { getJson, type RunSummary } from './api.js'
import { Chart } from './chart.js'

export function RunsView({ runs }: { runs: RunSummary[] }) {
  const [id, setId] = useState<string | undefined>()
  return (
    <div class="split">
      <table class="list runs">
        <thead>
          <tr>
            <th>run</th>
            <th>kind</th>
            <th>verdict</th>
            <th>started</th>
            <th>length</th>
            <th>faults</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr
              key={r.id}
              data-run={r.id}
              class={`${r.passed ? '' : 'error'}${id === r.id ? ' selected' : ''}`}
              onClick={() => setId(r.id)}
            >
              <td>
                {r.title} <span class="muted">{r.id}</span>
              </td>
              <td>{r.kind}</td>
              <td>{r.verdict}</td>
              <td>{new Date(r.startMs).toLocaleString()}</td>
              <td>{(r.durationMs / 1000).toFixed(1)} s</td>
              <td>{r.faults.map((f) => f.label).join(', ')}</td>
            </tr>
          ))}
          {runs.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                no runs yet: msvc loadtest --json &gt; load/run.json, or msvc chaos run --journal
                chaos/run.json
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {id && <RunDetail id={id} />}
    </div>
  )
}

function RunDetail({ id }: { id: string }) {
  const [run, setRun] = useState<{ summary: RunSummary; data: unknown } | undefined>()
  useEffect(() => {
    getJson<{ summary: RunSummary; data: unknown }>('/api/run', { id })
      .then(setRun)
      .catch(() => setRun(undefined))
  }, [id])
  if (!run) return null
  const s = run.summary
  const bands = s.faults.map((f) => ({
    label: f.label,
    from: (s.startMs + f.startMs) / 1000,
    to: (s.startMs + f.endMs) / 1000,
  }))
  if (s.kind === 'load') {
    const r = run.data as LoadReport
    const x = r.timeline.map((p) => (s.startMs + p.t * 1000) / 1000)
    return (
      <section class="run" aria-label={`run ${id}`}>
        <h2>
          {r.target} · {r.model} · {r.requests} requests, {(r.errorRate * 100).toFixed(2)}% errors, p99{' '}
          {r.latency.p99?.toFixed(1)} ms
        </h2>
        <Chart
          title="latency (ms), fault windows shaded"
          data={[x, r.timeline.map((p) => p.p50), r.timeline.map((p) => p.p99)]}
          series={[
            { label: 'p50', stroke: '#3a9d5d', unit: ' ms' },
            { label: 'p99', stroke: '#c78a16', unit: ' ms' },
          ]}
          bands={bands}
        />
        <Chart
          title="responses/s"
          data={[x, r.timeline.map((p) => p.requests), r.timeline.map((p) => p.errors)]}
          series={[
            { label: 'responses', stroke: '#2b7bd6' },
            { label: 'errors', stroke: '#d63b2b' },
          ]}
          bands={bands}
        />
        <ul>
          {r.thresholds.map((t, i) => (
            <li key={i} class={t.ok ? '' : 'error'}>
              {JSON.stringify(t)}
            </li>
          ))}
          {s.faults.map((f) => (
            <li key={f.label}>
              {f.label}: {(f.startMs / 1000).toFixed(1)} s to {(f.endMs / 1000).toFixed(1)} s
            </li>
          ))}
        </ul>
      </section>
    )
  }
  const j = run.data as Journal
  return (
    <section class="run" aria-label={`run ${id}`}>
      <h2>
        {j.experiment.title} · {j.verdict ?? 'unfinished'}
      </h2>
      <ul>
        {j.reasons.map((r, i) => (
          <li key={i}>{r}</li>
        ))}
      </ul>
      <table>
        <tbody>
          {j.method.map((m, i) => (
            <tr key={i} class={m.type === 'fault' ? (m.error ? 'error' : '') : m.result.ok ? '' : 'error'}>
              <td>+{(m.atMs / 1000).toFixed(1)} s</td>
              <td>{m.type === 'fault' ? `${m.fault} ${m.service}` : m.result.name}</td>
              <td>
                {m.type === 'fault'
                  ? (m.error ?? (m.recovery ? JSON.stringify(m.recovery) : ''))
                  : m.result.detail}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
