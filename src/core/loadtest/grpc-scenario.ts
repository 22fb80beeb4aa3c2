/**
 * The `grpc:` entries of a scenario (a weighted mix of gRPC unary calls) and their checks against
 * msvc.yaml: which service, method, message, metadata, deadline and address. Pure.
 */
import { parseDuration } from '../chaos/units.js'
import { hasCapability, type Workspace } from '../workspace/model.js'
import { toPascalCase, toSingular } from '../workspace/names.js'
import { GRPC_OK, parseGrpcExpect } from './grpc-status.js'
import { compileTemplate, type RequestSpec } from './request.js'

/** One kind of gRPC unary call in a run, as the scenario states it. */
export interface GrpcCallSpec {
  kind: 'grpc'
  name: string
  weight: number
  /** the workspace service (msvc.yaml) whose generated client makes the call */
  service: string
  /** `GetOrder`, or `OrderService.GetOrder` when the service's protos declare several services */
  method: string
  /** the request message: a mapping whose string leaves may hold placeholders */
  message: Record<string, unknown>
  /** metadata values may hold placeholders */
  metadata: Record<string, string>
  /** status codes that count as success */
  expect: number[]
  /** the deadline of each call; default: the generated client's (msvc.yaml `deadline` of the service, else 2 s) */
  deadlineMs?: number
  /** host:port; default 127.0.0.1 and the service's gRPC port */
  address?: string
}

/** A request of a run: HTTP (path, method, body) or a gRPC call through a generated client. */
export type LoadRequestSpec = RequestSpec | GrpcCallSpec

export const isGrpcCall = (r: LoadRequestSpec): r is GrpcCallSpec => 'kind' in r && r.kind === 'grpc'

/** How the generated client's own resilience behaves during a run. */
export type GrpcResilience = 'off' | 'client'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const GRPC_KEYS = ['service', 'method', 'message', 'metadata', 'deadline', 'address']
const ENTRY_KEYS = ['name', 'weight', 'expect', 'grpc']
const HTTP_KEYS = ['path', 'method', 'body', 'headers']
const METHOD = /^(?:[A-Za-z_][\w.]*[./])?[A-Za-z_]\w*$/
const ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/
const METADATA_KEY = /^[0-9a-z_.-]+$/

/** Checks every string leaf of a message for placeholders msvc knows, naming its place. */
function checkTemplates(v: unknown, at: string, problems: string[]): void {
  if (typeof v === 'string') {
    try {
      compileTemplate(v)
    } catch (e) {
      problems.push(`${at}: ${(e as Error).message}`)
    }
  } else if (Array.isArray(v)) v.forEach((x, i) => checkTemplates(x, `${at}[${i}]`, problems))
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) checkTemplates(x, `${at}.${k}`, problems)
}

/** A scenario entry with `grpc:`; problems name their place (`requests[2].grpc.method`). */
export function parseGrpcEntry(r: Obj, at: string, problems: string[]): GrpcCallSpec | undefined {
  const before = problems.length
  for (const k of Object.keys(r)) {
    if (ENTRY_KEYS.includes(k)) continue
    if (HTTP_KEYS.includes(k))
      problems.push(`${at}.${k}: an entry is an HTTP request (path:) or a gRPC call (grpc:), not both`)
    else if (GRPC_KEYS.includes(k))
      problems.push(`${at}.${k}: goes inside grpc: (grpc: { service, method, ${k} })`)
    else problems.push(`${at}.${k}: unknown key (known: ${ENTRY_KEYS.join(', ')})`)
  }
  const g = r.grpc
  if (!isObj(g)) {
    problems.push(`${at}.grpc: a mapping like { service: order, method: GetOrder, message: { id: "..." } }`)
    return undefined
  }
  for (const k of Object.keys(g))
    if (!GRPC_KEYS.includes(k))
      problems.push(
        `${at}.grpc.${k}: unknown key (known: ${GRPC_KEYS.join(', ')})${k === 'request' ? '; the request is message:' : ''}`,
      )
  const service = typeof g.service === 'string' ? g.service : ''
  if (!service) problems.push(`${at}.grpc.service: the workspace service to call, e.g. order`)
  const method = typeof g.method === 'string' ? g.method.trim() : ''
  if (!METHOD.test(method)) problems.push(`${at}.grpc.method: a method of the service's proto, e.g. GetOrder`)
  let message: Obj = {}
  if (g.message !== undefined && g.message !== null) {
    if (isObj(g.message)) {
      message = g.message
      checkTemplates(message, `${at}.grpc.message`, problems)
    } else problems.push(`${at}.grpc.message: a mapping of the request message's fields`)
  }
  const metadata: Record<string, string> = {}
  if (g.metadata !== undefined) {
    if (!isObj(g.metadata)) problems.push(`${at}.grpc.metadata: a mapping of metadata keys to values`)
    else
      for (const [k, v] of Object.entries(g.metadata)) {
        const key = k.toLowerCase()
        if (!METADATA_KEY.test(key) || key.endsWith('-bin') || key.startsWith('grpc-'))
          problems.push(
            `${at}.grpc.metadata.${k}: not a metadata key for text (lowercase letters, digits, - _ .; no -bin suffix, no grpc- prefix)`,
          )
        metadata[key] = String(v)
        checkTemplates(metadata[key], `${at}.grpc.metadata.${k}`, problems)
      }
  }
  let deadlineMs: number | undefined
  if (g.deadline !== undefined) {
    deadlineMs = parseDuration(String(g.deadline))
    if (!deadlineMs || deadlineMs <= 0) {
      problems.push(`${at}.grpc.deadline: "${String(g.deadline)}" is not a duration (500ms, 2s)`)
      deadlineMs = undefined
    }
  }
  let address: string | undefined
  if (g.address !== undefined) {
    if (typeof g.address === 'string' && ADDRESS.test(g.address)) address = g.address
    else problems.push(`${at}.grpc.address: host:port, e.g. 127.0.0.1:50051`)
  }
  const weight = r.weight === undefined ? 1 : Number(r.weight)
  if (!(weight > 0)) problems.push(`${at}.weight: a positive number`)
  const expect = r.expect === undefined ? [GRPC_OK] : parseGrpcExpect(r.expect)
  if (!expect) problems.push(`${at}.expect: a gRPC status (OK, NOT_FOUND or its number) or a list of them`)
  if (problems.length > before) return undefined
  return {
    kind: 'grpc',
    name: typeof r.name === 'string' && r.name ? r.name : `${service}.${method.split(/[./]/).pop()}`,
    weight,
    service,
    method,
    message,
    metadata,
    expect: expect!,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(address !== undefined ? { address } : {}),
  }
}

/** A problem with the hint that fixes it. */
export interface GrpcProblem {
  message: string
  hint?: string
}

/** Checks that each call names a service of the workspace that has the grpc capability. */
export function checkGrpcServices(calls: { spec: GrpcCallSpec; at: string }[], ws: Workspace): GrpcProblem[] {
  const problems: GrpcProblem[] = []
  const names = Object.keys(ws.services)
  for (const { spec, at } of calls) {
    const s = ws.services[spec.service]
    if (!s)
      problems.push({
        message: `${at}.grpc.service: unknown service "${spec.service}"`,
        hint: names.length
          ? `services of the workspace: ${names.join(', ')}`
          : 'the workspace has no services',
      })
    else if (!hasCapability(s, 'grpc'))
      problems.push({
        message: `${at}.grpc.service: ${spec.service} has no grpc capability`,
        hint: `give it grpc in msvc.yaml (capabilities) and run msvc proto gen, or load its HTTP routes`,
      })
  }
  return problems
}

/** The address a call goes to: its own, else the service's gRPC port on 127.0.0.1 (the port msvc publishes). */
export function grpcAddress(spec: GrpcCallSpec, ws: Workspace): string {
  return spec.address ?? `127.0.0.1:${ws.services[spec.service]?.ports.grpc ?? 0}`
}

/**
 * `msvc loadtest <service>` for a service with grpc and no REST resource (or with --grpc): the
 * read-heavy mix of the HTTP default, through the generated client: List (4 of 5, a page of 20)
 * and Create (1 of 5, with a unique name: the generated service answers ALREADY_EXISTS to a taken one).
 */
export function grpcServiceMix(ws: Workspace, name: string): GrpcCallSpec[] {
  const s = ws.services[name]!
  const list = `List${toPascalCase(s.resource)}`
  const createM = `Create${toPascalCase(toSingular(s.resource))}`
  const base = { kind: 'grpc' as const, service: name, metadata: {}, expect: [GRPC_OK] }
  return [
    { ...base, name: `${name}.${list}`, weight: 4, method: list, message: { page_size: 20 } },
    {
      ...base,
      name: `${name}.${createM}`,
      weight: 1,
      method: createM,
      message: { name: 'load {{uuid}}', description: 'created by msvc loadtest' },
    },
  ]
}
