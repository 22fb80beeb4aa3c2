/** The system graph: services coloured by health, with replicas, RED figures and breaker states. */
import { useEffect, useState } from 'preact/hooks'
import { getJson, type HealthSnapshot, type RedPoint, type SystemGraph } from './api.js'
import { Chart } from './chart.js'

const COL_W = 230
const ROW_H = 120
const NODE_W = 180
const NODE_H = 92

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? '-' : n.toFixed(digits))

export function GraphView({ graph, health }: { graph: SystemGraph; health: HealthSnapshot | undefined }) {
  const [selected, setSelected] = useState<string | undefined>()
  const pos = new Map(graph.nodes.map((n) => [n.id, { x: 20 + n.column * COL_W, y: 20 + n.row * ROW_H }]))
  const cols = Math.max(1, ...graph.nodes.map((n) => n.column + 1))
  const rows = Math.max(1, ...graph.nodes.map((n) => n.row + 1))
  const node = graph.nodes.find((n) => n.id === selected)
  return (
    <div class="graph-view">
      <div class="graph-wrap">
        {health && !health.engine && <p class="problem">{health.problem}</p>}
        <svg
          class="graph"
          width={cols * COL_W + 20}
          height={rows * ROW_H + 20}
          role="img"
          aria-label={`system graph of ${graph.workspace}`}
        >
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 10 10"
              refX="10"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto"
            >
              <path d="M0,0 L10,5 L0,10 z" class="arrow" />
            </marker>
          </defs>
          {graph.edges.map((e) => {
            const a = pos.get(e.from)
            const b = pos.get(e.to)
            if (!a || !b) return null
            const open = health?.services[e.from]?.breakers[e.to]
            const x1 = a.x + NODE_W
            const y1 = a.y + NODE_H / 2 + (e.kind === 'event' ? 10 : 0)
            const x2 = b.x
            const y2 = b.y + NODE_H / 2 + (e.kind === 'event' ? 10 : 0)
            const back = x2 <= x1
            const d = back
              ? `M${a.x + NODE_W / 2},${a.y + NODE_H} C${a.x + NODE_W / 2},${a.y + NODE_H + 40} ${b.x + NODE_W / 2},${b.y + NODE_H + 40} ${b.x + NODE_W / 2},${b.y + NODE_H}`
              : `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}`
            return (
              <path
                key={`${e.kind}:${e.from}:${e.to}`}
                d={d}
                class={`edge edge-${e.kind}${open && open !== 'closed' ? ` breaker-${open}` : ''}`}
                marker-end="url(#arrow)"
              >
                <title>
                  {e.kind === 'event'
                    ? `${e.from} → ${e.to}: ${(e.events ?? []).join(', ')}`
                    : `${e.from} → ${e.to} (${e.kind})`}
                  {open ? `; breaker ${open}` : ''}
                </title>
              </path>
            )
          })}
          {graph.nodes.map((n) => {
            const p = pos.get(n.id)!
            const h = health?.services[n.id]
            const status = h?.status ?? 'stopped'
            const up = h?.replicas.filter((r) => r.state === 'running').length ?? 0
            const openBreakers = Object.entries(h?.breakers ?? {}).filter(([, s]) => s !== 'closed')
            const faults = (health?.faults ?? []).filter((f) => f.service === n.id)
            return (
              <g
                key={n.id}
                class={`node node-${n.kind} status-${status}${selected === n.id ? ' selected' : ''}`}
                data-service={n.id}
                data-status={status}
                transform={`translate(${p.x},${p.y})`}
                onClick={() => setSelected(n.id)}
              >
                <rect width={NODE_W} height={NODE_H} rx="8" />
                <title>{n.id}</title>
                <text x="10" y="20" class="name">
                  {n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id}
                </text>
                <text x="10" y="37" class="replicas">
                  {up}/{n.replicas} · {status}
                </text>
                {h?.red ? (
                  <text x="10" y="54" class="red">
                    {fmt(h.red.rate)} req/s · {fmt(h.red.errorRate * 100)}% err
                  </text>
                ) : (
                  <text x="10" y="54" class="red">
                    {n.kind}
                  </text>
                )}
                {h?.red?.p99Ms !== undefined && (
                  <text x="10" y="70" class="red">
                    p50 {fmt(h.red.p50Ms)} ms · p99 {fmt(h.red.p99Ms)} ms
                  </text>
                )}
                {faults.length > 0 && (
                  <text x={NODE_W - 10} y="37" class="fault" text-anchor="end" data-fault={faults[0]!.label}>
                    ⚡ {faults.map((f) => f.label).join(', ')}
                  </text>
                )}
                {openBreakers.length > 0 && (
                  <text x="10" y="86" class="breaker">
                    breaker {openBreakers.map(([t, s]) => `${t} ${s}`).join(', ')}
                  </text>
                )}
              </g>
            )
          })}
        </svg>
        <p class="legend">
          <span class="l-call">— call</span> <span class="l-event">- - event</span>{' '}
          <span class="l-store">··· database</span> · green up · amber degraded/starting · red down · grey
          stopped
        </p>
      </div>
      {node && <NodePanel id={node.id} graph={graph} health={health} />}
    </div>
  )
}

function NodePanel({
  id,
  graph,
  health,
}: {
  id: string
  graph: SystemGraph
  health: HealthSnapshot | undefined
}) {
  const node = graph.nodes.find((n) => n.id === id)!
  const h = health?.services[id]
  const [points, setPoints] = useState<RedPoint[]>([])
  useEffect(() => {
    let live = true
    const load = () =>
      getJson<RedPoint[]>('/api/red', { service: id, since: String(Date.now() - 10 * 60_000) })
        .then((p) => live && setPoints(p))
        .catch(() => {})
    void load()
    const t = setInterval(load, 2000)
    return () => {
      live = false
      clearInterval(t)
    }
  }, [id])
  const x = points.map((p) => p.atMs / 1000)
  return (
    <aside class="panel" aria-label={`details of ${id}`}>
      <h2>{id}</h2>
      {node.description && <p>{node.description}</p>}
      <p>
        {node.kind}
        {node.capabilities.length ? ` · ${node.capabilities.join(', ')}` : ''}
        {node.ports.http ? ` · http ${node.ports.http}` : ''}
        {node.ports.grpc ? ` · grpc ${node.ports.grpc}` : ''}
      </p>
      <h3>Replicas</h3>
      <table>
        <tbody>
          {(h?.replicas ?? []).map((r) => (
            <tr key={r.name}>
              <td>{r.name}</td>
              <td>{r.state}</td>
              <td>{r.health}</td>
              <td>{r.ready === undefined ? '' : r.ready === 0 ? 'no answer' : `ready ${r.ready}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {Object.keys(h?.breakers ?? {}).length > 0 && (
        <>
          <h3>Breakers</h3>
          <ul>
            {Object.entries(h!.breakers).map(([t, s]) => (
              <li key={t} class={`breaker-${s}`}>
                {t}: {s}
              </li>
            ))}
          </ul>
        </>
      )}
      {points.length > 1 && (
        <>
          <Chart
            title="requests/s"
            width={380}
            height={140}
            data={[x, points.map((p) => p.rate), points.map((p) => p.errorRate * p.rate)]}
            series={[
              { label: 'req/s', stroke: '#2b7bd6' },
              { label: 'errors/s', stroke: '#d63b2b' },
            ]}
          />
          <Chart
            title="latency (ms)"
            width={380}
            height={140}
            data={[x, points.map((p) => p.p50Ms ?? null), points.map((p) => p.p99Ms ?? null)]}
            series={[
              { label: 'p50', stroke: '#3a9d5d', unit: ' ms' },
              { label: 'p99', stroke: '#c78a16', unit: ' ms' },
            ]}
          />
        </>
      )}
      <h3>Environment</h3>
      <table class="env">
        <tbody>
          {Object.entries(node.env).map(([k, v]) => (
            <tr key={k}>
              <td>{k}</td>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  )
}
