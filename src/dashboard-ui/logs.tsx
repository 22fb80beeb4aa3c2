/** Merged live logs of the stack, filtered by service, level, request id, trace or span id and text. */
import { useEffect, useState } from 'preact/hooks'
import { matchesLogFilter, type LogFilter, type LogLevel } from '../core/dashboard/logs.js'
import { getJson, type LogEntry } from './api.js'

const MAX_SHOWN = 1000

export function LogsView({
  services,
  incoming,
  initial,
}: {
  services: string[]
  /** the latest batch from the server's events */
  incoming: LogEntry[]
  initial: LogFilter
}) {
  const [f, setF] = useState<LogFilter>(initial)
  const [lines, setLines] = useState<LogEntry[]>([])
  useEffect(() => setF(initial), [JSON.stringify(initial)])
  useEffect(() => {
    getJson<LogEntry[]>('/api/logs', {
      service: f.service,
      level: f.level,
      requestId: f.requestId,
      traceId: f.traceId,
      spanId: f.spanId,
      text: f.text,
      limit: '500',
    })
      .then(setLines)
      .catch(() => {})
  }, [JSON.stringify(f)])
  useEffect(() => {
    const fresh = incoming.filter((e) => matchesLogFilter(e, f))
    if (fresh.length) setLines((old) => [...old, ...fresh].slice(-MAX_SHOWN))
  }, [incoming])
  const set = (k: keyof LogFilter) => (e: Event) => {
    const v = (e.target as HTMLInputElement).value
    const next = { ...f }
    if (v) (next as Record<string, string>)[k] = v
    else delete next[k]
    setF(next)
  }
  return (
    <div class="logs-view">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <select aria-label="service" value={f.service ?? ''} onChange={set('service')}>
          <option value="">every service</option>
          {services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="level" value={f.level ?? ''} onChange={set('level')}>
          <option value="">any level</option>
          {(['debug', 'info', 'warn', 'error'] as LogLevel[]).map((l) => (
            <option key={l} value={l}>
              {l} and above
            </option>
          ))}
        </select>
        <input
          aria-label="request id"
          placeholder="request id"
          value={f.requestId ?? ''}
          onInput={set('requestId')}
        />
        <input
          aria-label="trace id"
          placeholder="trace id"
          value={f.traceId ?? ''}
          onInput={set('traceId')}
        />
        <input aria-label="span id" placeholder="span id" value={f.spanId ?? ''} onInput={set('spanId')} />
        <input aria-label="text" placeholder="text" value={f.text ?? ''} onInput={set('text')} />
      </form>
      <div class="log-lines" role="log">
        {lines.map((e) => (
          <div key={e.seq} class={`log level-${e.level}`}>
            <span class="t">{new Date(e.timeMs).toLocaleTimeString()}</span>
            <span class="svc">{e.service}</span>
            <span class="lvl">{e.level}</span>
            <span class="msg">{e.msg}</span>
            {e.requestId && <span class="rid">{e.requestId}</span>}
          </div>
        ))}
        {lines.length === 0 && <p class="muted">no log lines match</p>}
      </div>
    </div>
  )
}
