/** msvc dashboard's page: the graph, traces, logs and runs of one workspace, live over SSE. */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import 'uplot/dist/uPlot.min.css'
import './app.css'
import type { LogFilter } from '../core/dashboard/logs.js'
import { getJson, type HealthSnapshot, type LogEntry, type RunSummary, type SystemGraph } from './api.js'
import { GraphView } from './graph.js'
import { LogsView } from './logs.js'
import { RunsView } from './runs.js'
import { TracesView } from './traces.js'

type Tab = 'graph' | 'traces' | 'logs' | 'runs'
const TABS: Tab[] = ['graph', 'traces', 'logs', 'runs']

function App() {
  const [tab, setTab] = useState<Tab>(() => TABS.find((t) => location.hash === `#${t}`) ?? 'graph')
  const [graph, setGraph] = useState<SystemGraph | undefined>()
  const [health, setHealth] = useState<HealthSnapshot | undefined>()
  const [spanTick, setSpanTick] = useState(0)
  const [logBatch, setLogBatch] = useState<LogEntry[]>([])
  const [runs, setRuns] = useState<RunSummary[]>([])
  const [traceId, setTraceId] = useState<string | undefined>()
  const [logFilter, setLogFilter] = useState<LogFilter>({})
  const [connected, setConnected] = useState(false)

  useEffect(() => {
    void getJson<SystemGraph>('/api/graph').then(setGraph)
    void getJson<RunSummary[]>('/api/runs').then(setRuns)
    const es = new EventSource('/api/events')
    es.onopen = () => setConnected(true)
    es.onerror = () => setConnected(false)
    es.addEventListener('health', (e) =>
      setHealth(JSON.parse((e as MessageEvent<string>).data) as HealthSnapshot),
    )
    es.addEventListener('traces', () => setSpanTick((n) => n + 1))
    es.addEventListener('logs', (e) =>
      setLogBatch(JSON.parse((e as MessageEvent<string>).data) as LogEntry[]),
    )
    es.addEventListener('runs', (e) => setRuns(JSON.parse((e as MessageEvent<string>).data) as RunSummary[]))
    return () => es.close()
  }, [])
  const go = (t: Tab) => {
    setTab(t)
    history.replaceState(null, '', `#${t}`)
  }
  const services = graph?.nodes.map((n) => n.id) ?? []
  return (
    <>
      <header>
        <h1>msvc · {graph?.workspace ?? '…'}</h1>
        <nav>
          {TABS.map((t) => (
            <button
              key={t}
              type="button"
              class={tab === t ? 'active' : ''}
              onClick={() => go(t)}
              data-tab={t}
            >
              {t}
            </button>
          ))}
        </nav>
        <span class={`conn ${connected ? 'on' : 'off'}`}>{connected ? 'live' : 'reconnecting…'}</span>
      </header>
      <main>
        {tab === 'graph' && graph && <GraphView graph={graph} health={health} />}
        {tab === 'traces' && (
          <TracesView
            services={services}
            tick={spanTick}
            traceId={traceId}
            openTrace={setTraceId}
            showLogs={(id, spanId) => {
              setLogFilter(spanId ? { traceId: id, spanId } : { traceId: id })
              go('logs')
            }}
          />
        )}
        {tab === 'logs' && <LogsView services={services} incoming={logBatch} initial={logFilter} />}
        {tab === 'runs' && <RunsView runs={runs} />}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
