/**
 * The system graph the dashboard draws (issue #18), from msvc.yaml alone: services, the gateway,
 * each postgres service's database (`<svc>-db`), NATS, and the edges between them (calls, events
 * from publisher to subscriber, a service and its database). Pure; live health is laid over it by
 * the dashboard's monitor, by node id (the compose service name, which is what containers carry in
 * their `msvc.service` label).
 */
import {
  buildComposeStack,
  listStackNames,
  NATS_SERVICE,
  needsNats,
  POSTGRES_PORT,
} from '../compose/build-stack.js'
import { toDatabaseService, type Workspace } from '../workspace/model.js'
import { maskEnv } from './secrets.js'

export type GraphNodeKind = 'service' | 'gateway' | 'database' | 'broker'

export interface GraphNode {
  /** the compose service name: `order`, `order-db`, `nats` */
  id: string
  kind: GraphNodeKind
  description?: string
  capabilities: string[]
  ports: { http?: number; grpc?: number; other?: number[] }
  replicas: number
  /** its environment in the stack, values that look like secrets masked */
  env: Record<string, string>
  /** the column it is drawn in: 0 for what nothing calls (the gateway), then each callee further right */
  column: number
  /** its place within the column, from the top */
  row: number
}

export type GraphEdgeKind = 'call' | 'event' | 'store'

export interface GraphEdge {
  from: string
  to: string
  kind: GraphEdgeKind
  /** event edges: the event types carried (`order.created`) */
  events?: string[]
}

export interface SystemGraph {
  workspace: string
  nodes: GraphNode[]
  edges: GraphEdge[]
}

/** The graph of msvc.yaml's system, laid out in columns by call depth (left calls right). */
export function buildSystemGraph(ws: Workspace): SystemGraph {
  const stack = buildComposeStack(ws)
  const names = Object.keys(ws.services).sort()
  const edges: GraphEdge[] = []
  for (const name of names)
    for (const callee of [...ws.services[name]!.calls].sort())
      edges.push({ from: name, to: callee, kind: 'call' })

  // one event edge per (publisher, subscriber) pair, carrying every type between them
  const pairs = new Map<string, GraphEdge>()
  for (const pub of names)
    for (const type of ws.services[pub]!.publishes)
      for (const sub of names) {
        if (sub === pub || !ws.services[sub]!.subscribes.includes(type)) continue
        const key = `${pub}\0${sub}`
        const edge = pairs.get(key) ?? { from: pub, to: sub, kind: 'event' as const, events: [] }
        edge.events!.push(type)
        pairs.set(key, edge)
      }
  for (const e of [...pairs.values()].sort(
    (a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to),
  ))
    edges.push({ ...e, events: [...e.events!].sort() })
  for (const name of names)
    if (ws.services[name]!.store === 'postgres')
      edges.push({ from: name, to: toDatabaseService(name), kind: 'store' })

  const column = toColumns(ws, edges)
  const nodes: GraphNode[] = []
  for (const id of listStackNames(ws)) {
    const env = stack.services[id]?.environment ?? {}
    const s = ws.services[id]
    if (s) {
      nodes.push({
        id,
        kind: s.kind === 'gateway' ? 'gateway' : 'service',
        ...(s.description ? { description: s.description } : {}),
        capabilities: [...s.capabilities],
        ports: { http: s.ports.http, ...(s.ports.grpc !== undefined ? { grpc: s.ports.grpc } : {}) },
        replicas: s.replicas,
        env: maskEnv(env),
        column: column.get(id) ?? 0,
        row: 0,
      })
    } else if (id === NATS_SERVICE) {
      nodes.push({
        id,
        kind: 'broker',
        description: 'NATS JetStream: the event bus',
        capabilities: [],
        ports: { other: [4222] },
        replicas: 1,
        env: {},
        column: 0,
        row: 0,
      })
    } else {
      const owner = id.slice(0, -'-db'.length)
      nodes.push({
        id,
        kind: 'database',
        description: `PostgreSQL of ${owner}`,
        capabilities: [],
        ports: { other: [POSTGRES_PORT] },
        replicas: 1,
        env: maskEnv(env),
        column: (column.get(owner) ?? 0) + 1,
        row: 0,
      })
    }
  }
  // NATS sits one column right of the deepest service, where every event edge can reach it
  if (needsNats(ws)) {
    const nats = nodes.find((n) => n.id === NATS_SERVICE)!
    nats.column = Math.max(0, ...nodes.filter((n) => n.kind !== 'broker').map((n) => n.column)) + 1
  }
  const rows = new Map<number, number>()
  for (const n of nodes) {
    n.row = rows.get(n.column) ?? 0
    rows.set(n.column, n.row + 1)
  }
  return { workspace: ws.name, nodes, edges }
}

/**
 * Each service's column: the longest chain of calls and events that reaches it from a service
 * nothing calls or sends to (the gateway, a service called from outside). A cycle (events going
 * back and forth, which msvc.yaml allows) is cut where found.
 */
function toColumns(ws: Workspace, edges: readonly GraphEdge[]): Map<string, number> {
  const next = new Map<string, string[]>()
  for (const e of edges)
    if (e.kind !== 'store' && e.from !== e.to) next.set(e.from, [...(next.get(e.from) ?? []), e.to])
  const depth = new Map<string, number>()
  const visiting = new Set<string>()
  const visit = (name: string, d: number) => {
    if (visiting.has(name) || (depth.get(name) ?? -1) >= d) return
    depth.set(name, d)
    visiting.add(name)
    for (const n of next.get(name) ?? []) visit(n, d + 1)
    visiting.delete(name)
  }
  const reached = new Set([...next.values()].flat())
  const names = Object.keys(ws.services).sort()
  for (const n of names) if (!reached.has(n)) visit(n, 0)
  for (const n of names) if (!depth.has(n)) visit(n, 0)
  return depth
}
