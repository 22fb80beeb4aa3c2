/** The trace list, searchable, and one trace's waterfall with each span's attributes. */
import { useEffect, useState } from 'preact/hooks'
import { getJson, type TraceAnswer, type TracesAnswer, type WaterfallRow } from './api.js'

export interface TraceFilter {
  service: string
  status: string
  minMs: string
  traceId: string
}

export function TracesView({
  services,
  tick,
  openTrace,
  traceId,
  showLogs,
}: {
  services: string[]
  /** changes when new spans arrived */
  tick: number
  openTrace: (id: string | undefined) => void
  traceId: string | undefined
  /** the logs of a trace, or of one of its spans */
  showLogs: (traceId: string, spanId?: string) => void
}) {
  const [f, setF] = useState<TraceFilter>({ service: '', status: '', minMs: '', traceId: '' })
  const [answer, setAnswer] = useState<TracesAnswer | undefined>()
  useEffect(() => {
    getJson<TracesAnswer>('/api/traces', { ...f, limit: '100' })
      .then(setAnswer)
      .catch(() => {})
  }, [f.service, f.status, f.minMs, f.traceId, tick])
  const set = (k: keyof TraceFilter) => (e: Event) =>
    setF({ ...f, [k]: (e.target as HTMLInputElement).value })
  return (
    <div class="traces-view">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <select aria-label="service" value={f.service} onChange={set('service')}>
          <option value="">every service</option>
          {services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="status" value={f.status} onChange={set('status')}>
          <option value="">any status</option>
          <option value="error">with errors</option>
          <option value="ok">without errors</option>
        </select>
        <input
          aria-label="slower than (ms)"
          placeholder="slower than ms"
          value={f.minMs}
          onInput={set('minMs')}
        />
        <input aria-label="trace id" placeholder="trace id" value={f.traceId} onInput={set('traceId')} />
        {answer && (
          <span class="muted">
            {answer.stats.traces} traces, {answer.stats.spans} spans held (
            {(answer.stats.bytes / 1048576).toFixed(1)} of {(answer.stats.maxBytes / 1048576).toFixed(0)}{' '}
            MiB); {answer.stats.dropped} dropped
          </span>
        )}
      </form>
      <div class="split">
        <table class="list traces">
          <thead>
            <tr>
              <th>root</th>
              <th>services</th>
              <th>spans</th>
              <th>duration</th>
              <th>started</th>
            </tr>
          </thead>
          <tbody>
            {(answer?.traces ?? []).map((t) => (
              <tr
                key={t.traceId}
                data-trace={t.traceId}
                class={`${t.errorCount ? 'error' : ''}${traceId === t.traceId ? ' selected' : ''}`}
                onClick={() => openTrace(t.traceId)}
              >
                <td>
                  {t.rootService}: {t.rootName}
                </td>
                <td>{t.services.join(', ')}</td>
                <td>
                  {t.spanCount}
                  {t.errorCount ? ` (${t.errorCount} errors)` : ''}
                </td>
                <td>{t.durationMs.toFixed(1)} ms</td>
                <td>{new Date(t.startMs).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {traceId && <Waterfall traceId={traceId} tick={tick} showLogs={showLogs} />}
      </div>
    </div>
  )
}

function Waterfall({
  traceId,
  tick,
  showLogs,
}: {
  traceId: string
  tick: number
  showLogs: (traceId: string, spanId?: string) => void
}) {
  const [t, setT] = useState<TraceAnswer | undefined>()
  const [missing, setMissing] = useState(false)
  const [open, setOpen] = useState<WaterfallRow | undefined>()
  useEffect(() => {
    getJson<TraceAnswer>(`/api/traces/${traceId}`)
      .then((a) => {
        setT(a)
        setMissing(false)
      })
      .catch(() => setMissing(true))
  }, [traceId, tick])
  if (missing) return <p class="muted">trace {traceId} is no longer held</p>
  if (!t) return null
  const start = t.summary.startMs
  const total = Math.max(t.summary.durationMs, 0.001)
  return (
    <section class="waterfall" aria-label={`trace ${traceId}`}>
      <h2>
        trace <code>{traceId}</code> · {t.summary.durationMs.toFixed(1)} ms ·{' '}
        <button type="button" onClick={() => showLogs(traceId)}>
          its logs
        </button>
      </h2>
      {t.rows.map((r) => {
        const left = ((r.span.startMs - start) / total) * 100
        const width = Math.max((r.span.durationMs / total) * 100, 0.3)
        return (
          <div
            key={r.span.spanId}
            class={`span-row${r.span.status === 'error' ? ' error' : ''}${r.orphan ? ' orphan' : ''}`}
            data-span={r.span.spanId}
            data-parent={r.span.parentSpanId ?? ''}
            data-depth={r.depth}
            onClick={() => setOpen(r)}
          >
            <div class="span-name" style={{ paddingLeft: `${r.depth * 14}px` }}>
              <span class="svc">{r.span.service}</span> {r.span.name}
            </div>
            <div class="span-track">
              <div class="span-bar" style={{ left: `${left}%`, width: `${width}%` }} />
            </div>
            <div class="span-ms">{r.span.durationMs.toFixed(2)} ms</div>
          </div>
        )
      })}
      {open && (
        <div class="span-detail">
          <h3>
            {open.span.service}: {open.span.name} ({open.span.kind}, {open.span.status}
            {open.span.statusMessage ? `: ${open.span.statusMessage}` : ''}) ·{' '}
            <button
              type="button"
              data-span-logs={open.span.spanId}
              onClick={() => showLogs(traceId, open.span.spanId)}
            >
              its logs
            </button>
          </h3>
          <table>
            <tbody>
              {Object.entries({ ...open.span.attributes, ...prefix('resource.', open.span.resource) }).map(
                ([k, v]) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td>{String(v)}</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
          {open.span.events.length > 0 && (
            <ul>
              {open.span.events.map((e, i) => (
                <li key={i}>
                  +{(e.timeMs - open.span.startMs).toFixed(2)} ms {e.name}{' '}
                  {Object.entries(e.attributes)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(' ')}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  )
}

const prefix = (p: string, o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k, v]))
