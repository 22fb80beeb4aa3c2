/**
 * A scenario file (`msvc loadtest -f scenario.yaml`): a target, a weighted mix of HTTP requests
 * with templated paths, headers and bodies and of gRPC unary calls with templated messages,
 * expected statuses, and optionally the load shape and thresholds. Parsing is pure: text in, a scenario or the problems out.
 */
import { parse } from 'yaml'
import { durationMs } from '../chaos/units.js'
import { parseGrpcEntry, type GrpcResilience, type LoadRequestSpec } from './grpc-scenario.js'
import { parseFlows, type FlowProblem, type FlowSpec } from './flow.js'
import { DEFAULT_EXPECT, compileTemplate, parseExpect, type RequestSpec } from './request.js'
import { parseStages, type Stage } from './schedule.js'
import { parseThreshold, type Threshold } from './thresholds.js'

export interface Scenario {
  /** a URL (`http://127.0.0.1:3001`) or a service of the workspace; the command line may give it instead */
  target?: string
  rate?: number
  durationMs?: number
  /** load sent first and not recorded (core/loadtest/warmup.ts) */
  warmupMs?: number
  stages?: Stage[]
  connections?: number
  thresholds: Threshold[]
  requests: LoadRequestSpec[]
  /** ordered HTTP requests whose answers feed the later steps (flow.ts) */
  flows?: FlowSpec[]
  /** gRPC calls: whether the generated client's retries and breaker are on (default off) */
  grpc?: { resilience: GrpcResilience }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Reads a scenario; every problem names its place (`requests[1].path`), and `hint` says how to
 * fix the first one when there is more to say than the problem.
 */
export function parseScenario(
  text: string,
): { ok: true; scenario: Scenario } | { ok: false; problems: string[]; hint?: string } {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (e) {
    return { ok: false, problems: [`not YAML: ${(e as Error).message.split('\n')[0]}`] }
  }
  if (!isObj(doc)) return { ok: false, problems: ['a scenario is a mapping with a `requests:` list'] }
  const problems: string[] = []
  const known = [
    'target',
    'rate',
    'duration',
    'warmup',
    'stages',
    'connections',
    'headers',
    'thresholds',
    'grpc',
    'requests',
    'flows',
  ]
  for (const k of Object.keys(doc))
    if (!known.includes(k)) problems.push(`${k}: unknown key (known: ${known.join(', ')})`)

  const scenario: Scenario = { thresholds: [], requests: [] }
  if (doc.target !== undefined) {
    if (typeof doc.target === 'string' && doc.target) scenario.target = doc.target
    else problems.push('target: a URL or a service name')
  }
  if (doc.rate !== undefined) {
    if (typeof doc.rate === 'number' && doc.rate > 0) scenario.rate = doc.rate
    else problems.push('rate: requests per second, a positive number')
  }
  if (doc.duration !== undefined) {
    const d = durationMs(doc.duration)
    if (d !== undefined && d > 0) scenario.durationMs = d
    else problems.push(`duration: "${String(doc.duration)}" is not a duration (30s, 2m, or seconds)`)
  }
  if (doc.warmup !== undefined) {
    const d = durationMs(doc.warmup)
    if (d !== undefined && d > 0) scenario.warmupMs = d
    else problems.push(`warmup: "${String(doc.warmup)}" is not a duration (10s, 1m, or seconds)`)
  }
  if (doc.stages !== undefined) {
    const text = Array.isArray(doc.stages)
      ? doc.stages
          .map((s) => (isObj(s) ? `${String(s.duration)}:${String(s.rate ?? s.target)}` : String(s)))
          .join(',')
      : String(doc.stages)
    const st = parseStages(text)
    if (st) scenario.stages = st
    else problems.push('stages: a list of { duration: 10s, rate: 100 } or "10s:100,30s:1000"')
  }
  if (doc.connections !== undefined) {
    if (Number.isInteger(doc.connections) && (doc.connections as number) > 0)
      scenario.connections = doc.connections as number
    else problems.push('connections: a positive integer')
  }
  if (doc.grpc !== undefined) {
    const r = isObj(doc.grpc) ? doc.grpc.resilience : undefined
    if (
      isObj(doc.grpc) &&
      Object.keys(doc.grpc).every((k) => k === 'resilience') &&
      (r === 'off' || r === 'client')
    )
      scenario.grpc = { resilience: r }
    else
      problems.push(
        "grpc: { resilience: off } (one attempt per call) or { resilience: client } (the client's retries and breaker)",
      )
  }
  const defaultHeaders: Record<string, string> = {}
  if (doc.headers !== undefined) {
    if (isObj(doc.headers)) for (const [k, v] of Object.entries(doc.headers)) defaultHeaders[k] = String(v)
    else problems.push('headers: a mapping of header names to values')
  }
  if (doc.thresholds !== undefined) {
    const list = Array.isArray(doc.thresholds) ? doc.thresholds : [doc.thresholds]
    list.forEach((t, i) => {
      const th = parseThreshold(String(t))
      if (th) scenario.thresholds.push(th)
      else problems.push(`thresholds[${i}]: "${String(t)}" is not a threshold (p99<300ms, errors<1%)`)
    })
  }
  const hints = new Map<number, string>()
  const hasFlows = Array.isArray(doc.flows) && doc.flows.length > 0
  if (doc.requests === undefined && hasFlows) {
    // a scenario of flows only
  } else if (!Array.isArray(doc.requests) || (!doc.requests.length && !hasFlows))
    problems.push('requests: a list of at least one request (or flows:)')
  else
    doc.requests.forEach((r, i) => {
      const at = `requests[${i}]`
      if (!isObj(r)) return problems.push(`${at}: a mapping with method and path, or with grpc:`)
      // gRPC unary calls go through the workspace's generated clients; their methods and message
      // fields are checked against those clients once the workspace is loaded
      if (r.grpc !== undefined) {
        const call = parseGrpcEntry(r, at, problems)
        if (call) scenario.requests.push(call)
        return
      }
      for (const k of ['capture', 'check'])
        if (r[k] !== undefined) {
          hints.set(
            problems.length,
            'put it in a step of a flow (flows: [{ name, steps: [...] }]); a flow may have one step',
          )
          problems.push(`${at}.${k}: captures and checks belong to the steps of flows:`)
        }
      scenario.requests.push(parseHttpRequest(r, at, defaultHeaders, problems))
    })
  if (doc.flows !== undefined) {
    const flowProblems: FlowProblem[] = []
    const flows = parseFlows(
      doc.flows,
      (r, at, into, vars, templates) => parseHttpRequest(r, at, defaultHeaders, into, vars, templates),
      flowProblems,
    )
    for (const p of flowProblems) {
      if (p.hint) hints.set(problems.length, p.hint)
      problems.push(p.message)
    }
    if (flows.length) scenario.flows = flows
  }
  if (scenario.rate !== undefined && scenario.connections !== undefined)
    problems.push('rate and connections: choose the open model (rate) or the closed one (connections)')
  const hint = hints.get(0)
  return problems.length
    ? { ok: false, problems, ...(hint !== undefined ? { hint } : {}) }
    : { ok: true, scenario }
}

/**
 * One HTTP request of a scenario (a weighted request or a flow's step); problems name its place.
 * `vars` are the variables its templates may use (a flow step's: those captured before it).
 */
export function parseHttpRequest(
  r: Obj,
  at: string,
  defaultHeaders: Record<string, string>,
  problems: string[],
  vars: ReadonlySet<string> = new Set(),
  templateProblems: string[] = problems,
): RequestSpec {
  const method = String(r.method ?? 'GET').toUpperCase()
  if (!METHODS.includes(method))
    problems.push(`${at}.method: "${method}" is not one of ${METHODS.join(', ')}`)
  if (typeof r.path !== 'string' || !r.path.startsWith('/'))
    problems.push(`${at}.path: a path starting with /`)
  const weight = r.weight === undefined ? 1 : Number(r.weight)
  if (!(weight > 0)) problems.push(`${at}.weight: a positive number`)
  const expect = r.expect === undefined ? DEFAULT_EXPECT : parseExpect(r.expect)
  if (!expect) problems.push(`${at}.expect: a status, a list of statuses, or a class like 2xx`)
  const headers = { ...defaultHeaders }
  if (r.headers !== undefined) {
    if (isObj(r.headers)) for (const [k, v] of Object.entries(r.headers)) headers[k] = String(v)
    else problems.push(`${at}.headers: a mapping`)
  }
  let body: string | undefined
  if (r.body !== undefined) {
    body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
    if (typeof r.body !== 'string' && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json'
  }
  for (const [field, t] of [
    ['path', r.path],
    ['body', body],
    ...Object.entries(headers).map(([k, v]) => [`headers.${k}`, v]),
  ] as const) {
    if (typeof t !== 'string') continue
    try {
      compileTemplate(t, vars)
    } catch (e) {
      templateProblems.push(`${at}.${field}: ${(e as Error).message}`)
    }
  }
  return {
    name: typeof r.name === 'string' && r.name ? r.name : `${method} ${String(r.path)}`,
    weight,
    method,
    path: String(r.path),
    headers,
    ...(body !== undefined ? { body } : {}),
    expect: expect ?? DEFAULT_EXPECT,
  }
}
