/** The one model of the system: what msvc.yaml says, with defaults filled in. */

export const CAPABILITIES = ['http', 'grpc', 'events'] as const
export type Capability = (typeof CAPABILITIES)[number]

export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean'] as const
export type FieldType = (typeof FIELD_TYPES)[number]

export interface ServicePorts {
  /** every service has an HTTP port: health, metrics, and its REST resource when `http` is on */
  http: number
  grpc?: number
}

export interface ServiceSpec {
  description: string
  capabilities: Capability[]
  /** plural kebab-case REST resource (`payments` -> /payments, aggregate Payment) */
  resource: string
  ports: ServicePorts
  calls: string[]
  publishes: string[]
  subscribes: string[]
  replicas: number
  env: Record<string, string>
  /** default deadline of each call to this service through its generated gRPC client (`2s`, `500ms`) */
  deadline?: string
}

export interface EventSpec {
  description?: string
  /** field name -> type; a trailing `?` on the type marks the field optional (`string?`) */
  schema: Record<string, string>
}

export interface Workspace {
  name: string
  services: Record<string, ServiceSpec>
  events: Record<string, EventSpec>
}

export const hasCapability = (s: ServiceSpec, c: Capability): boolean => s.capabilities.includes(c)

/** First ports handed out when none is given; the next free one above is used. */
export const PORT_BASE = { http: 3001, grpc: 50051 } as const

/**
 * Host ports msvc's own stack publishes (NATS client and monitoring, Prometheus,
 * Grafana, Jaeger UI): services may not take them.
 */
export const RESERVED_PORTS = new Map<number, string>([
  [4222, 'NATS'],
  [6222, 'NATS cluster'],
  [8222, 'NATS monitoring'],
  [9090, 'Prometheus'],
  [3000, 'Grafana'],
  [16686, 'Jaeger'],
])

/** Every port the workspace uses, with who uses it. */
export function listUsedPorts(ws: Workspace): Map<number, string> {
  const used = new Map<number, string>()
  for (const [name, svc] of Object.entries(ws.services)) {
    used.set(svc.ports.http, `${name} (http)`)
    if (svc.ports.grpc !== undefined) used.set(svc.ports.grpc, `${name} (grpc)`)
  }
  return used
}

/** The lowest free port at or above `base`, skipping used and reserved ones. */
export function allocatePort(base: number, used: ReadonlySet<number> | ReadonlyMap<number, unknown>): number {
  let port = base
  while (used.has(port) || RESERVED_PORTS.has(port)) port++
  if (port > 65535) throw new Error('no free port left')
  return port
}
