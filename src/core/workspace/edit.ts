import { isMap, parseDocument, YAMLMap, YAMLSeq, type Document } from 'yaml'
import {
  type Capability,
  type ServiceSpec,
  type Store,
  type Workspace,
  CAPABILITIES,
  STORES,
  toDatabaseService,
  allocatePort,
  findGateway,
  listUsedPorts,
  PORT_BASE,
  RESERVED_PORTS,
} from './model.js'
import { checkEventType, checkServiceName, toPlural } from './names.js'
import { hintKnown } from './parse.js'
import { GATEWAY_DEFAULTS, resolveGateway } from './gateway.js'
import { toFieldsYaml, type FieldSpec } from './fields.js'
import { toOperationsYaml, type OperationSpec } from './operations.js'
import { UserError } from '../errors.js'

/** What a user asks for when adding a service (flags or prompt answers). */
export interface AddServiceOptions {
  name: string
  /** `gateway`: the workspace's API gateway (`--gateway`); absent: a service */
  kind?: 'gateway'
  description?: string
  capabilities: Capability[]
  resource?: string
  publishes?: string[]
  subscribes?: string[]
  calls?: string[]
  httpPort?: number
  grpcPort?: number
  /** the aggregate's fields (`--fields`); absent: the default name, description and status */
  fields?: FieldSpec[]
  /** operations beyond CRUD (`--operations`) */
  operations?: OperationSpec[]
  /** `--store`; absent: postgres for a service with a resource */
  store?: Store
}

/** The default schema given to an event type that a service names before anyone declares it. */
export const DEFAULT_EVENT_SCHEMA = { id: 'string' } as const

/**
 * Decides the new service's spec: checks the name, allocates ports without clashes,
 * checks calls, and lists the event types to declare. Throws UserError on bad input.
 */
export function planAddService(
  ws: Workspace,
  opts: AddServiceOptions,
): { spec: ServiceSpec; newEvents: string[] } {
  if (opts.kind === 'gateway') return { spec: planAddGateway(ws, opts), newEvents: [] }
  const nameProblem = checkServiceName(opts.name)
  if (nameProblem)
    throw new UserError(
      `invalid service name: ${nameProblem}`,
      'service names are DNS-1123 labels, e.g. payment or order-history',
    )
  if (ws.services[opts.name])
    throw new UserError(
      `service "${opts.name}" already exists in msvc.yaml`,
      'pick another name, or edit its entry in msvc.yaml',
    )
  for (const c of opts.capabilities)
    if (!CAPABILITIES.includes(c))
      throw new UserError(`unknown capability "${c}"`, `choose from ${CAPABILITIES.join(', ')}`)
  const resource = opts.resource ?? toPlural(opts.name)
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(resource))
    throw new UserError(
      `invalid resource "${resource}"`,
      'a resource is a plural kebab-case noun, e.g. payments',
    )

  const used = listUsedPorts(ws)
  const checkPort = (port: number, kind: string) => {
    if (!Number.isInteger(port) || port < 1024 || port > 65535)
      throw new UserError(`--${kind}-port ${port} is out of range`, 'use a port from 1024 to 65535')
    const owner = used.get(port) ?? RESERVED_PORTS.get(port)
    if (owner)
      throw new UserError(
        `port ${port} is already used by ${owner}`,
        'omit the port to get a free one assigned',
      )
  }
  if (opts.httpPort !== undefined) checkPort(opts.httpPort, 'http')
  const http = opts.httpPort ?? allocatePort(PORT_BASE.http, used)
  used.set(http, `${opts.name} (http)`)
  let grpc: number | undefined
  if (opts.capabilities.includes('grpc')) {
    if (opts.grpcPort !== undefined) checkPort(opts.grpcPort, 'grpc')
    grpc = opts.grpcPort ?? allocatePort(PORT_BASE.grpc, used)
  } else if (opts.grpcPort !== undefined) {
    throw new UserError('--grpc-port given without --grpc', 'add --grpc, or drop --grpc-port')
  }

  const calls = unique(opts.calls ?? [])
  for (const callee of calls) {
    if (callee === opts.name)
      throw new UserError(`service ${opts.name} cannot call itself`, 'remove it from --calls')
    if (!ws.services[callee])
      throw new UserError(`--calls names unknown service "${callee}"`, hintKnown(Object.keys(ws.services)))
  }
  const publishes = unique(opts.publishes ?? [])
  const subscribes = unique(opts.subscribes ?? [])
  const newEvents: string[] = []
  for (const type of [...publishes, ...subscribes]) {
    const why = checkEventType(type)
    if (why) throw new UserError(why, 'event types are lowercase and dotted: <aggregate>.<past-tense verb>')
    if (!ws.events[type] && !newEvents.includes(type)) newEvents.push(type)
  }
  if ((publishes.length > 0 || subscribes.length > 0) && !opts.capabilities.includes('events'))
    throw new UserError('--publishes/--subscribes need the events capability', 'add --events')

  const servesResource = opts.capabilities.includes('http') || opts.capabilities.includes('grpc')
  if ((opts.fields !== undefined || opts.operations?.length) && !servesResource)
    throw new UserError(
      `--${opts.fields !== undefined ? 'fields' : 'operations'} needs a resource to hold them`,
      'add --http or --grpc',
    )

  if (opts.store !== undefined && !STORES.includes(opts.store))
    throw new UserError(`unknown store "${String(opts.store)}"`, `choose from ${STORES.join(', ')}`)
  if (opts.store === 'postgres' && !servesResource)
    throw new UserError('--store postgres needs a resource to keep', 'add --http or --grpc')
  const store = opts.store ?? (servesResource ? 'postgres' : undefined)
  const owner = opts.name.endsWith('-db') ? opts.name.slice(0, -3) : undefined
  const clash =
    (owner !== undefined && ws.services[owner]?.store === 'postgres' ? owner : undefined) ??
    (store === 'postgres' && ws.services[toDatabaseService(opts.name)] ? opts.name : undefined)
  if (clash !== undefined)
    throw new UserError(
      `service "${opts.name}" would clash with ${toDatabaseService(clash)}, the database of ${clash}`,
      'a postgres service owns the name <service>-db: pick another name',
    )

  const ordered = CAPABILITIES.filter((c) => opts.capabilities.includes(c))
  return {
    spec: {
      description: opts.description ?? '',
      capabilities: ordered,
      resource,
      ports: grpc === undefined ? { http } : { http, grpc },
      calls,
      publishes,
      subscribes,
      replicas: 1,
      env: {},
      ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
      ...(opts.operations?.length ? { operations: opts.operations } : {}),
      ...(store !== undefined ? { store } : {}),
    },
    newEvents,
  }
}

/** What `--gateway` takes beside the name: a port and a description; nothing a service has. */
const GATEWAY_REFUSES: [keyof AddServiceOptions, string][] = [
  ['resource', '--resource'],
  ['publishes', '--publishes'],
  ['subscribes', '--subscribes'],
  ['calls', '--calls'],
  ['grpcPort', '--grpc-port'],
  ['fields', '--fields'],
  ['operations', '--operations'],
  ['store', '--store'],
]

/**
 * The gateway's spec: port 8080 (or the next free one), a token required on every route and a
 * rate limit per client; its routes follow the services (msvc.yaml's `routes:` adjusts them).
 */
function planAddGateway(ws: Workspace, opts: AddServiceOptions): ServiceSpec {
  const why = opts.name === 'gateway' ? undefined : checkServiceName(opts.name)
  if (why) throw new UserError(`invalid service name: ${why}`, 'call it gateway, or another DNS-1123 label')
  if (ws.services[opts.name])
    throw new UserError(`service "${opts.name}" already exists in msvc.yaml`, 'pick another name')
  const existing = findGateway(ws)
  if (existing)
    throw new UserError(`the workspace already has a gateway: ${existing}`, 'edit its routes in msvc.yaml')
  for (const [key, flag] of GATEWAY_REFUSES)
    if (opts[key] !== undefined && !(Array.isArray(opts[key]) && opts[key].length === 0))
      throw new UserError(`--gateway takes no ${flag}`, 'its routes come from the services in msvc.yaml')
  if (opts.capabilities.length > 0)
    throw new UserError('--gateway takes no capabilities', 'drop --http/--grpc/--events: the gateway proxies')
  const used = listUsedPorts(ws)
  if (opts.httpPort !== undefined) {
    const owner = used.get(opts.httpPort) ?? RESERVED_PORTS.get(opts.httpPort)
    if (owner)
      throw new UserError(
        `port ${opts.httpPort} is already used by ${owner}`,
        'omit --port to get a free one',
      )
  }
  const http = opts.httpPort ?? allocatePort(GATEWAY_PORT, used)
  const raw = { auth: GATEWAY_DEFAULTS.auth, rateLimit: GATEWAY_RATE_LIMIT }
  const { spec: gateway } = resolveGateway(raw, ws.services)
  return {
    kind: 'gateway',
    description: opts.description ?? 'The entry point: routes, tokens and rate limits',
    capabilities: [],
    resource: toPlural(opts.name),
    ports: { http },
    calls: [...new Set(gateway.routes.map((r) => r.service))].sort(),
    publishes: [],
    subscribes: [],
    replicas: 1,
    env: {},
    gateway,
  }
}

/** The gateway's port when none is given (the next free one above if taken). */
export const GATEWAY_PORT = 8080

/** The rate limit a new gateway writes into msvc.yaml: per client (token subject, API key or IP). */
export const GATEWAY_RATE_LIMIT = '100/s burst 200'

const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))]

/** The workspace with the new service (and declared events) added; for validation before writing. */
export function withService(ws: Workspace, name: string, spec: ServiceSpec, newEvents: string[]): Workspace {
  const events = { ...ws.events }
  for (const type of newEvents) events[type] = { schema: { ...DEFAULT_EVENT_SCHEMA } }
  return { ...ws, services: { ...ws.services, [name]: spec }, events }
}

/** The YAML text of a fresh msvc.yaml with its first service. */
export function renderNewWorkspaceYaml(
  wsName: string,
  serviceName: string,
  spec: ServiceSpec,
  newEvents: string[],
): string {
  const header =
    '# msvc.yaml: the one model of this system. Every msvc command reads it;\n' +
    '# docker-compose.yml and generated clients are derived from it.\n'
  const doc = parseDocument(`${header}name: ${wsName}\nservices: {}\n`)
  return addServiceToYaml(doc.toString(), serviceName, spec, newEvents)
}

/** msvc.yaml text with one more service (and its new events), keeping comments and order. */
export function addServiceToYaml(text: string, name: string, spec: ServiceSpec, newEvents: string[]): string {
  const doc = parseDocument(text)
  const services = ensureMap(doc, 'services')
  services.flow = false
  services.set(name, toServiceNode(doc, spec))
  if (newEvents.length > 0) {
    const events = ensureMap(doc, 'events')
    events.flow = false
    for (const type of newEvents) {
      const node = doc.createNode({ schema: { ...DEFAULT_EVENT_SCHEMA } }) as YAMLMap
      ;(node.get('schema') as YAMLMap).flow = true
      events.set(type, node)
    }
  }
  return unpadFlowSequences(doc.toString({ lineWidth: 0, singleQuote: true }))
}

/**
 * `key: [ a, b ]` as `key: [a, b]`, the way prettier writes flow sequences (and flow maps padded,
 * which is why flowCollectionPadding, applying to both, is not enough). The sequences msvc writes
 * hold plain names, so a value without brackets, quotes or comments is all this has to handle.
 */
function unpadFlowSequences(text: string): string {
  return text.replace(/^(\s*[^#\n]*?: )\[ ([^[\]#'"\n]*?) \]$/gm, '$1[$2]')
}

function ensureMap(doc: Document, key: string): YAMLMap {
  const existing = doc.get(key)
  if (isMap(existing)) return existing
  const map = new YAMLMap()
  doc.set(key, map)
  return map
}

function toServiceNode(doc: Document, spec: ServiceSpec): YAMLMap {
  if (spec.kind === 'gateway') return toGatewayNode(doc, spec)
  const plain: Record<string, unknown> = {}
  if (spec.description) plain.description = spec.description
  plain.capabilities = spec.capabilities
  plain.resource = spec.resource
  plain.ports = spec.ports
  if (spec.calls.length) plain.calls = spec.calls
  if (spec.publishes.length) plain.publishes = spec.publishes
  if (spec.subscribes.length) plain.subscribes = spec.subscribes
  plain.replicas = spec.replicas
  if (Object.keys(spec.env).length) plain.env = spec.env
  if (spec.store) plain.store = spec.store
  if (spec.database) plain.database = spec.database
  if (spec.fields) plain.fields = toFieldsYaml(spec.fields)
  if (spec.operations?.length) plain.operations = toOperationsYaml(spec.operations)
  const node = doc.createNode(plain) as YAMLMap
  for (const item of node.items) {
    const key = (item.key as { value: string }).value
    if (key === 'fields' || key === 'operations') {
      // one field (operation) a line; a field's own map, list or input on that line
      for (const f of (item.value as YAMLMap).items)
        if (f.value instanceof YAMLMap || f.value instanceof YAMLSeq) f.value.flow = true
      continue
    }
    if (
      item.value instanceof YAMLSeq ||
      (item.value instanceof YAMLMap && (item.key as { value: string }).value === 'ports')
    )
      item.value.flow = true
  }
  return node
}

/** A new gateway as msvc.yaml holds it: its settings; the routes it derives are not written. */
function toGatewayNode(doc: Document, spec: ServiceSpec): YAMLMap {
  const d = spec.gateway!.defaults
  const plain: Record<string, unknown> = {
    ...(spec.description ? { description: spec.description } : {}),
    kind: 'gateway',
    ports: spec.ports,
    replicas: spec.replicas,
    auth: d.auth,
    ...(d.rateLimit !== undefined ? { rateLimit: d.rateLimit } : {}),
  }
  const node = doc.createNode(plain) as YAMLMap
  ;(node.get('ports') as YAMLMap).flow = true
  return node
}
