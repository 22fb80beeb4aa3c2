/** The one model of the system: what msvc.yaml says, with defaults filled in. */
import type { FieldSpec } from './fields.js'
import type { OperationSpec } from './operations.js'
import type { SagaSpec } from './sagas.js'

export const CAPABILITIES = ['http', 'grpc', 'events'] as const
export type Capability = (typeof CAPABILITIES)[number]

export interface ServicePorts {
  /** every service has an HTTP port: health, metrics, and its REST resource when `http` is on */
  http: number
  grpc?: number
}

export interface ServiceSpec {
  /** absent: a service; `gateway`: the workspace's API gateway (routes instead of a resource) */
  kind?: 'gateway'
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
  /** the service's own base image, over the workspace's */
  runtime?: RuntimeSpec
  /** the aggregate's fields, as msvc.yaml declares them; absent: DEFAULT_FIELDS */
  fields?: FieldSpec[]
  /** what the aggregate does beyond CRUD (reserve, refund...); absent: none */
  operations?: OperationSpec[]
  /**
   * where the aggregate lives: its own PostgreSQL database, or the process's memory (absent: memory;
   * `msvc add` writes postgres for a new service with a resource unless told otherwise)
   */
  store?: Store
  /** the database container's image (`database: { image }`), for a postgres store */
  database?: { image: string }
  /** the gateway's routes and checks, resolved from msvc.yaml (kind: gateway only) */
  gateway?: GatewaySpec
  /**
   * publish the service's own ports on 127.0.0.1 even though a gateway is the entry point
   * (debugging); without a gateway every single-replica service is published anyway
   */
  publish?: boolean
}

/** One route of the gateway: a public path prefix and the service (and path) it leads to. */
export interface GatewayRouteSpec {
  /** the public prefix, `/api/orders`: it and everything below it */
  path: string
  service: string
  /** the upstream's path prefix that replaces `path`, `/orders` */
  to: string
  /** `none`, `jwt` or `jwt(roles=a,b)` */
  auth: string
  /** `100/s burst 200`; absent: no limit */
  rateLimit?: string
  /** how long the upstream may take to answer (`5s`) */
  timeout: string
  /** extra attempts for idempotent requests (GET, HEAD, OPTIONS) */
  retries: number
}

/** The route settings a gateway's routes inherit unless they set their own. */
export interface GatewayDefaults {
  auth: string
  rateLimit?: string
  timeout: string
  retries: number
}

export interface GatewaySpec {
  defaults: GatewayDefaults
  /** sorted by path: every derived route (`/api/<resource>`) not turned off, and the declared ones */
  routes: GatewayRouteSpec[]
  /** RS256/ES256 through a JWKS URL, and the claims a token must carry; HS256 uses the .env secret */
  jwt: { jwksUrl?: string; issuer?: string; audience?: string }
  /** addresses or CIDRs whose x-forwarded-* / forwarded headers the gateway believes */
  trustedProxies: string[]
  balance: 'least-outstanding' | 'round-robin'
}

/** The gateway service of the workspace, if it has one (at most one is allowed). */
export const findGateway = (ws: Workspace): string | undefined =>
  Object.keys(ws.services).find((n) => ws.services[n]!.kind === 'gateway')

/** True when the service's own ports are published on the host (see ServiceSpec.publish). */
export const publishesPorts = (ws: Workspace, name: string): boolean => {
  const s = ws.services[name]!
  if (s.replicas !== 1) return false
  return s.kind === 'gateway' || s.publish === true || findGateway(ws) === undefined
}

export const STORES = ['postgres', 'memory'] as const
export type Store = (typeof STORES)[number]

/** The image of a service's database when msvc.yaml names none (PostgreSQL 15 features only). */
export const DEFAULT_DATABASE_IMAGE = 'postgres:17'

/** The compose service of a postgres service's database: `order` -> `order-db`. */
export const toDatabaseService = (service: string) => `${service}-db`

/** The services whose aggregate lives in PostgreSQL, sorted. */
export const listPostgresServices = (ws: Workspace): string[] =>
  Object.keys(ws.services)
    .filter((n) => ws.services[n]!.store === 'postgres')
    .sort()

/**
 * The fields of an aggregate whose service declares none: a unique name, a description and a
 * status, what every generated service had before fields could be declared.
 */
export const DEFAULT_FIELDS: readonly FieldSpec[] = [
  { name: 'name', type: { kind: 'string' }, required: true, unique: true, minLength: 1, maxLength: 200 },
  { name: 'description', type: { kind: 'string' }, required: false, unique: false, maxLength: 2000 },
  {
    name: 'status',
    type: { kind: 'enum', values: ['active', 'inactive'] },
    required: false,
    unique: false,
    default: 'active',
  },
]

/** The aggregate's fields: declared, or the defaults. */
export const toEntityFields = (s: ServiceSpec): readonly FieldSpec[] => s.fields ?? DEFAULT_FIELDS

/** What a service's image is built on (`runtime:` in msvc.yaml, per workspace or per service). */
export interface RuntimeSpec {
  /** base image of the Dockerfile's `FROM` (build arg BASE_IMAGE), e.g. node:22-slim */
  image: string
}

/** Base image of a service when msvc.yaml chooses none: the current Node LTS. */
export const DEFAULT_BASE_IMAGE = 'node:24-slim'

export interface EventSpec {
  description?: string
  /** field name -> type; a trailing `?` on the type marks the field optional (`string?`) */
  schema: Record<string, string>
}

export interface Workspace {
  name: string
  services: Record<string, ServiceSpec>
  events: Record<string, EventSpec>
  /** the base image of every service that does not choose its own */
  runtime?: RuntimeSpec
  /** transactions across services, by name (docs/sagas.md); absent: none */
  sagas?: Record<string, SagaSpec>
  /** the standard backends added to the stack (docs/stack.md, Observability backends); absent: none */
  observability?: ObservabilitySpec
}

/** The observability backends msvc.yaml may add to the stack, in the order they are listed. */
export const OBSERVABILITY_BACKENDS = ['prometheus', 'grafana', 'jaeger'] as const
export type ObservabilityBackend = (typeof OBSERVABILITY_BACKENDS)[number]

/** `observability: { prometheus: true, grafana: true, jaeger: true }`: which backends run in the stack. */
export type ObservabilitySpec = Record<ObservabilityBackend, boolean>

/** The backends the workspace turns on, in OBSERVABILITY_BACKENDS order (each is its compose service's name). */
export const listObservabilityBackends = (ws: Workspace): ObservabilityBackend[] =>
  OBSERVABILITY_BACKENDS.filter((b) => ws.observability?.[b] === true)

/** The image a service's Dockerfile builds on: its own choice, else the workspace's, else the default. */
export const toBaseImage = (ws: Workspace, service: string): string =>
  ws.services[service]?.runtime?.image ?? ws.runtime?.image ?? DEFAULT_BASE_IMAGE

/** Every base image the workspace's services build on, sorted, each once. */
export const listBaseImages = (ws: Workspace): string[] =>
  [...new Set(Object.keys(ws.services).map((s) => toBaseImage(ws, s)))].sort()

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
