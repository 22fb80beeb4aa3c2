import type { ErrorObject } from 'ajv'
import { parsePayloadType } from '../events/payload-type.js'
import {
  dedupeProblems,
  errorPath,
  readYaml,
  schemaProblem,
  type Locate,
  type Problem,
  type YamlPath,
} from '../yaml-problems.js'
import {
  type EventSpec,
  type ObservabilitySpec,
  type RuntimeSpec,
  type ServiceSpec,
  toDatabaseService,
  type Workspace,
  OBSERVABILITY_BACKENDS,
  RESERVED_PORTS,
  listObservabilityBackends,
} from './model.js'
import { WORKSPACE_SCHEMA } from './schema.js'
import validateWorkspace from './validate-shape.gen.js'
import { checkEventType, checkServiceName, toPlural } from './names.js'
import { parseFieldsYaml, type FieldProblem, type FieldSpec } from './fields.js'
import { parseOperationsYaml, type OperationSpec } from './operations.js'
import { GATEWAY_KEYS, resolveGateway, type RawGateway } from './gateway.js'
import { resolveSagas, type RawSaga } from './sagas.js'

export type { Problem }

export type ParseResult = { ok: true; workspace: Workspace } | { ok: false; problems: Problem[] }

// compiled from WORKSPACE_SCHEMA ahead of time (npm run gen:validators): no ajv at run time
const validateShape = validateWorkspace as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/** Parses and validates msvc.yaml text; problems carry line and column (1-based). */
export function parseWorkspace(text: string): ParseResult {
  const read = readYaml(text)
  if (!read.ok) return read
  const { data, at } = read
  if (!validateShape(data)) {
    const problems = dedupeProblems((validateShape.errors ?? []).map((e) => toProblem(e, at)))
    return { ok: false, problems }
  }
  const raw = data as RawWorkspace
  const model = readModels(raw, at)
  if (model.problems.length > 0) return { ok: false, problems: model.problems }
  const { workspace, gatewayProblems } = normalize(raw, model, at)
  const problems = [...checkKinds(raw, at), ...gatewayProblems, ...checkReferences(workspace, at)]
  if (problems.length > 0) return { ok: false, problems: dedupeProblems(problems) }
  return { ok: true, workspace }
}

type RawService = Omit<Partial<ServiceSpec>, 'fields' | 'operations' | 'kind' | 'gateway'> &
  Pick<ServiceSpec, 'ports'> & {
    fields?: unknown
    operations?: unknown
    kind?: 'service' | 'gateway'
  } & RawGateway

interface RawWorkspace {
  name: string
  services: Record<string, RawService>
  events?: Record<string, Partial<EventSpec>>
  runtime?: RuntimeSpec
  sagas?: Record<string, RawSaga>
  observability?: Partial<ObservabilitySpec>
}

interface Models {
  fields: Map<string, FieldSpec[]>
  operations: Map<string, OperationSpec[]>
  problems: Problem[]
}

/** Each service's `fields:` and `operations:`, read by their own grammar, problems located. */
function readModels(raw: RawWorkspace, at: Locate): Models {
  const out: Models = { fields: new Map(), operations: new Map(), problems: [] }
  const report = (service: string, key: string, p: FieldProblem) => {
    const path = ['services', service, key, ...p.field.split(/\.|\[\]|[()]/).filter(Boolean)]
    const where = `services.${service}.${key}${p.field ? `.${p.field}` : ''}`
    out.problems.push({
      ...at(path, path.length === 4),
      field: where,
      message: `${where}: ${p.message}`,
      ...(p.hint ? { hint: p.hint } : {}),
    })
  }
  for (const [name, s] of Object.entries(raw.services ?? {})) {
    if (s.fields !== undefined) {
      const r = parseFieldsYaml(s.fields)
      if (r.ok) out.fields.set(name, r.fields)
      else for (const p of r.problems) report(name, 'fields', p)
      // the proto message of the aggregate carries every field: a writeOnly one would be answered
      if (r.ok && s.capabilities?.includes('grpc'))
        for (const f of r.fields.filter((x) => x.writeOnly))
          report(name, 'fields', {
            field: f.name,
            message: 'a writeOnly field is not generated for gRPC yet (its message would answer it)',
            hint: `leave out writeOnly, or the grpc capability of ${name}`,
          })
    }
    if (s.operations !== undefined) {
      const r = parseOperationsYaml(s.operations)
      if (r.ok) out.operations.set(name, r.operations)
      else for (const p of r.problems) report(name, 'operations', p)
      // an operation's own answer is generated for its REST route only, for now
      if (r.ok && s.capabilities?.includes('grpc'))
        for (const op of r.operations.filter((o) => o.returns))
          report(name, 'operations', {
            field: `${op.name}.returns`,
            message: 'an operation that returns its own shape is not generated for gRPC yet',
            hint: `leave out returns, or the grpc capability of ${name}`,
          })
    }
  }
  return out
}

function normalize(
  raw: RawWorkspace,
  models: Models,
  at: Locate,
): { workspace: Workspace; gatewayProblems: Problem[] } {
  const services: Record<string, ServiceSpec> = {}
  for (const [name, s] of Object.entries(raw.services ?? {})) {
    const fields = models.fields.get(name)
    const operations = models.operations.get(name)
    services[name] = {
      ...(s.kind === 'gateway' ? { kind: 'gateway' as const } : {}),
      description: s.description ?? '',
      capabilities: s.capabilities ?? [],
      resource: s.resource ?? toPlural(name),
      ports: { ...s.ports },
      calls: s.calls ?? [],
      publishes: s.publishes ?? [],
      subscribes: s.subscribes ?? [],
      replicas: s.replicas ?? 1,
      env: Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, String(v)])),
      ...(s.deadline !== undefined ? { deadline: s.deadline } : {}),
      ...(s.runtime !== undefined ? { runtime: { image: s.runtime.image } } : {}),
      ...(fields !== undefined ? { fields } : {}),
      ...(s.store !== undefined ? { store: s.store } : {}),
      ...(s.database !== undefined ? { database: { image: s.database.image } } : {}),
      ...(operations?.length ? { operations } : {}),
      ...(s.publish !== undefined ? { publish: s.publish } : {}),
    }
  }
  // a gateway's routes follow the other services; its upstreams are its calls (compose wires
  // their URLs and waits for their health, msvc ls draws the edges)
  const gatewayProblems: Problem[] = []
  for (const [name, s] of Object.entries(raw.services ?? {})) {
    if (s.kind !== 'gateway') continue
    const { spec, problems } = resolveGateway(s, services)
    services[name]!.gateway = spec
    services[name]!.calls = [...new Set(spec.routes.map((r) => r.service))].sort()
    for (const p of problems) {
      const path = ['services', name, ...p.path]
      gatewayProblems.push({
        ...at(path, p.key === true),
        field: path.join('.'),
        message: `services.${name}: ${p.message}`,
        ...(p.hint ? { hint: p.hint } : {}),
      })
    }
  }
  // sagas, once the services are known: each remote callee of a saga is a call of its owner
  const resolved = raw.sagas ? resolveSagas(raw.sagas, services) : undefined
  for (const [owner, callees] of resolved?.calls ?? [])
    services[owner]!.calls = [...new Set([...services[owner]!.calls, ...callees])]
  for (const p of resolved?.problems ?? [])
    gatewayProblems.push({
      ...at(p.path, p.key === true),
      field: p.path.join('.'),
      message: p.message,
      ...(p.hint ? { hint: p.hint } : {}),
    })
  const events: Record<string, EventSpec> = {}
  for (const [type, e] of Object.entries(raw.events ?? {})) {
    events[type] = { ...(e.description ? { description: e.description } : {}), schema: e.schema ?? {} }
  }
  return {
    workspace: {
      name: raw.name,
      services,
      events,
      ...(raw.runtime !== undefined ? { runtime: { image: raw.runtime.image } } : {}),
      ...(resolved && Object.keys(resolved.sagas).length ? { sagas: resolved.sagas } : {}),
      ...(raw.observability !== undefined
        ? {
            observability: Object.fromEntries(
              OBSERVABILITY_BACKENDS.map((b) => [b, raw.observability![b] === true]),
            ) as ObservabilitySpec,
          }
        : {}),
    },
    gatewayProblems,
  }
}

/** What only a gateway, or only a service, may say; and at most one gateway. */
function checkKinds(raw: RawWorkspace, at: Locate): Problem[] {
  const problems: Problem[] = []
  const add = (path: (string | number)[], message: string, hint: string, key = false) =>
    problems.push({ ...at(path, key), field: path.join('.'), message, hint })
  const gateways = Object.keys(raw.services ?? {}).filter((n) => raw.services[n]!.kind === 'gateway')
  if (gateways.length > 1)
    add(
      ['services', gateways[1]!],
      `services ${gateways.join(' and ')} are both gateways`,
      'a workspace has one entry point: keep one kind: gateway',
      true,
    )
  for (const [name, s] of Object.entries(raw.services ?? {})) {
    if (s.kind === 'gateway') {
      if (s.replicas !== undefined && s.replicas !== 1)
        add(
          ['services', name, 'replicas'],
          `services.${name} is a gateway with ${s.replicas} replicas`,
          "the gateway publishes the stack's one entry port, which replicas would clash on: keep replicas: 1",
        )
      for (const key of SERVICE_ONLY_KEYS)
        if (s[key] !== undefined && !(key === 'capabilities' && s.capabilities?.length === 0))
          add(
            ['services', name, key],
            `services.${name} is a gateway: it has no ${key}`,
            `its upstreams come from its routes; remove ${key}`,
            true,
          )
      continue
    }
    if (s.capabilities === undefined)
      add(
        ['services', name],
        `services.${name} has no capabilities`,
        'add capabilities: [http] (or [] for health and metrics only)',
        true,
      )
    for (const key of GATEWAY_KEYS)
      if (s[key] !== undefined)
        add(
          ['services', name, key],
          `services.${name}.${key} is a gateway setting, and ${name} is not a gateway`,
          'move it to the gateway service (kind: gateway), or remove it',
          true,
        )
  }
  return problems
}

/** A service's keys that mean nothing on a gateway. */
const SERVICE_ONLY_KEYS = [
  'capabilities',
  'resource',
  'calls',
  'publishes',
  'subscribes',
  'fields',
  'operations',
  'store',
  'database',
  'deadline',
] as const

/** Cross-field rules: names, ports, calls, event catalog. */
function checkReferences(ws: Workspace, at: Locate): Problem[] {
  const problems: Problem[] = []
  const add = (path: (string | number)[], message: string, hint?: string, key = false) =>
    problems.push({ ...at(path, key), field: path.join('.'), message, ...(hint ? { hint } : {}) })
  const names = Object.keys(ws.services)
  const portOwner = new Map<number, string>()
  for (const [name, svc] of Object.entries(ws.services)) {
    const why = svc.kind === 'gateway' && name === 'gateway' ? undefined : checkServiceName(name)
    if (why) add(['services', name], why, 'rename the service', true)
    const caps = new Set(svc.capabilities)
    if (caps.has('grpc') && svc.ports.grpc === undefined)
      add(
        ['services', name, 'ports'],
        `service ${name} has the grpc capability but no ports.grpc`,
        'add ports: { grpc: 50051 } (any free port)',
      )
    if (!caps.has('grpc') && svc.ports.grpc !== undefined)
      add(
        ['services', name, 'ports', 'grpc'],
        `service ${name} sets ports.grpc but has no grpc capability`,
        'add grpc to capabilities or remove ports.grpc',
      )
    for (const [kind, port] of Object.entries(svc.ports) as [string, number | undefined][]) {
      if (port === undefined) continue
      const path = ['services', name, 'ports', kind]
      const reserved = RESERVED_PORTS.get(port)
      if (reserved) add(path, `port ${port} of ${name} is reserved for ${reserved}`, 'pick another port')
      const owner = portOwner.get(port)
      if (owner)
        add(
          path,
          `port ${port} of ${name} (${kind}) is already used by ${owner}`,
          'every port in msvc.yaml must be unique',
        )
      else portOwner.set(port, `${name} (${kind})`)
    }
    svc.calls.forEach((callee, i) => {
      if (callee === name)
        add(['services', name, 'calls', i], `service ${name} calls itself`, 'remove it from calls')
      else if (!ws.services[callee])
        add(
          ['services', name, 'calls', i],
          `service ${name} calls unknown service "${callee}"`,
          hintKnown(names),
        )
      else if (ws.services[callee]!.kind === 'gateway' && svc.kind !== 'gateway')
        add(
          ['services', name, 'calls', i],
          `service ${name} calls the gateway ${callee}`,
          'call the service behind the route directly: the gateway is for clients outside the stack',
        )
    })
    const resourceless = !caps.has('http') && !caps.has('grpc')
    if (svc.store === 'postgres' && resourceless)
      add(
        ['services', name, 'store'],
        `service ${name} has store: postgres but serves no resource to keep`,
        'add http or grpc to its capabilities, or remove store',
      )
    if (svc.database !== undefined && svc.store !== 'postgres')
      add(
        ['services', name, 'database'],
        `service ${name} sets database but its store is not postgres`,
        'add store: postgres, or remove database',
      )
    if (svc.store === 'postgres' && ws.services[toDatabaseService(name)])
      add(
        ['services', name],
        `service ${toDatabaseService(name)} would clash with the database of ${name}`,
        `rename service ${toDatabaseService(name)}`,
        true,
      )
    for (const key of ['fields', 'operations'] as const)
      if (svc[key] !== undefined && resourceless)
        add(
          ['services', name, key],
          `service ${name} declares ${key} but serves no resource`,
          'add http or grpc to its capabilities, or remove the ' + key,
          true,
        )
    for (const op of svc.operations ?? [])
      op.publishes.forEach((type, i) => {
        const path = ['services', name, 'operations', op.name, 'publishes', i]
        if (!ws.events[type])
          add(
            path,
            `operation ${op.name} publishes "${type}", which is not in the events catalog`,
            `declare it under events:`,
          )
        else if (!svc.publishes.includes(type))
          add(
            path,
            `operation ${op.name} publishes "${type}", which ${name} does not list in publishes`,
            `add it to services.${name}.publishes`,
          )
      })
    for (const list of ['publishes', 'subscribes'] as const) {
      svc[list].forEach((type, i) => {
        const why = checkEventType(type)
        if (why) add(['services', name, list, i], why)
        else if (!ws.events[type])
          add(
            ['services', name, list, i],
            `event type "${type}" is not in the events catalog`,
            `declare it under events: (${type}: { schema: { id: string } })`,
          )
      })
    }
  }
  for (const [type, e] of Object.entries(ws.events)) {
    const why = checkEventType(type)
    if (why) add(['events', type], why, undefined, true)
    for (const [field, text] of Object.entries(e.schema)) {
      const parsed = parsePayloadType(text)
      if (!parsed.ok)
        add(
          ['events', type, 'schema', field],
          `field ${field} of ${type}: ${parsed.message}`,
          "e.g. total: number, note: 'string?', items: '{sku:string,quantity:integer}[]'",
        )
    }
  }
  problems.push(...checkObservability(ws, at))
  const cycle = findCallCycle(ws)
  if (cycle)
    add(
      ['services', cycle[0]!, 'calls'],
      `calls form a cycle: ${cycle.join(' -> ')}`,
      'a service cannot wait for itself to start; break the cycle with an event',
    )
  return problems
}

/**
 * Grafana reads Prometheus, so it needs it. (A service cannot take a backend's name: names.ts
 * reserves prometheus, grafana and jaeger whether or not they are on.)
 */
function checkObservability(ws: Workspace, at: Locate): Problem[] {
  const problems: Problem[] = []
  const on = listObservabilityBackends(ws)
  if (on.includes('grafana') && !on.includes('prometheus'))
    problems.push({
      ...at(['observability', 'grafana']),
      field: 'observability.grafana',
      message: 'observability.grafana needs prometheus: its dashboards read Prometheus',
      hint: 'add prometheus: true under observability',
    })
  return problems
}

/** A cycle in the calls graph as [a, b, ..., a], or undefined. */
export function findCallCycle(ws: Workspace): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, 'visiting')
    stack.push(name)
    for (const callee of ws.services[name]?.calls ?? []) {
      if (!ws.services[callee] || callee === name) continue
      const found = visit(callee)
      if (found) return found
    }
    stack.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const name of Object.keys(ws.services).sort()) {
    const found = visit(name)
    if (found) return found
  }
  return undefined
}

export const hintKnown = (names: string[]): string =>
  names.length ? `known services: ${[...names].sort().join(', ')}` : 'the workspace has no services yet'

function toProblem(e: ErrorObject, at: Locate): Problem {
  const path = errorPath(e)
  const field = path.join('.')
  const where = field || 'msvc.yaml'
  if (e.propertyName !== undefined) {
    // a key that breaks propertyNames: point at the key itself
    const keyPath = [...path, e.propertyName]
    return {
      ...at(keyPath, true),
      field: keyPath.join('.'),
      message: `"${e.propertyName}" in ${where} is not a valid name`,
      hint: nameHint(path),
    }
  }
  switch (e.keyword) {
    case 'additionalProperties':
      return { ...schemaProblem(e, at, 'msvc.yaml'), hint: `allowed: ${allowedKeys(path).join(', ')}` }
    case 'enum':
      return {
        ...at(path),
        field,
        message: `${where} is "${String(valueAt(e))}"`,
        hint: `allowed: ${(e.params.allowedValues as unknown[]).join(', ')}`,
      }
    case 'type':
      return {
        ...at(path),
        field,
        message: `${where} must be ${article(String(e.params.type))}`,
        ...(path[0] === 'observability'
          ? { hint: 'turn each backend on or off: observability: { prometheus: true, grafana: false }' }
          : {}),
      }
    case 'pattern':
      if (['deadline', 'timeout', 'wait'].includes(String(path.at(-1))))
        return {
          ...at(path),
          field,
          message: `${where} "${String(valueAt(e))}" is not a duration`,
          hint: 'write a number and a unit: 500ms, 2s, 1.5m',
        }
      if (path.at(-1) === 'image')
        return {
          ...at(path),
          field,
          message: `${where} "${String(valueAt(e))}" is not a Docker image reference`,
          hint: 'name an image such as node:22-slim (registry/name:tag)',
        }
      return {
        ...at(path),
        field,
        message: `${where} "${String(valueAt(e))}" is not a DNS-1123 label`,
        hint: 'lowercase letters, digits and inner hyphens, starting with a letter',
      }
    case 'propertyNames':
      return {
        ...at([...path, String(e.params.propertyName)], true),
        field,
        message: `"${String(e.params.propertyName)}" in ${where} is not a valid name`,
        hint: nameHint(path),
      }
    case 'minimum':
    case 'maximum':
      return {
        ...at(path),
        field,
        message: `${where} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(e.params.limit)}`,
      }
    case 'uniqueItems':
      return { ...at(path), field, message: `${where} lists the same entry twice` }
    default:
      return schemaProblem(e, at, 'msvc.yaml')
  }
}

/** What a valid key is where a key was refused. */
function nameHint(path: YamlPath): string {
  if (path[0] === 'services' && path.length === 1)
    return 'service names are DNS-1123 labels: lowercase letters, digits and inner hyphens'
  if (path[0] === 'sagas') return 'saga names are lowercase letters, digits and inner hyphens'
  return 'environment names are letters, digits and underscores'
}

function valueAt(e: ErrorObject): unknown {
  return e.data
}

function allowedKeys(path: YamlPath): string[] {
  if (path.length === 0) return Object.keys(WORKSPACE_SCHEMA.properties)
  if (path[0] === 'services' && path.length === 2)
    return Object.keys(WORKSPACE_SCHEMA.properties.services.additionalProperties.properties)
  if (path[0] === 'services' && path[2] === 'ports') return ['http', 'grpc']
  if (path[0] === 'events' && path.length === 2) return ['description', 'schema']
  if (path.at(-1) === 'runtime') return ['image']
  if (path[0] === 'observability') return [...OBSERVABILITY_BACKENDS]
  if (path[0] === 'sagas' && path.length === 2)
    return Object.keys(WORKSPACE_SCHEMA.properties.sagas.additionalProperties.properties)
  if (path[0] === 'sagas' && path.length === 4)
    return Object.keys(
      WORKSPACE_SCHEMA.properties.sagas.additionalProperties.properties.steps.items.properties,
    )
  return []
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`)
