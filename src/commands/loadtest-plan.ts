/** `msvc loadtest` flags (and a scenario) resolved into a plan: where, what, which model, thresholds. */
import type { FlowSpec } from '../core/loadtest/flow.js'
import { isGrpcCall, type GrpcCallSpec, type LoadRequestSpec } from '../core/loadtest/grpc-scenario.js'
import { parseExpect } from '../core/loadtest/request.js'
import type { Scenario } from '../core/loadtest/scenario.js'
import { constantProfile, parseStages, profileRequests, type LoadProfile } from '../core/loadtest/schedule.js'
import { isUrlTarget, urlRequests } from '../core/loadtest/targets.js'
import { parseThreshold, type Threshold } from '../core/loadtest/thresholds.js'
import { hintKnown } from '../core/workspace/parse.js'
import { UserError } from '../errors.js'
import { durationFlag } from './flags.js'
import { toWarmupModel } from '../core/loadtest/warmup.js'
import type { LoadModel } from '../core/loadtest/report.js'

export interface LoadtestCliOptions {
  rate?: string
  duration?: string
  warmup?: string
  stages?: string
  connections?: string
  pipelining?: string
  maxConnections?: string
  workers?: string
  file?: string
  threshold?: string[]
  timeout?: string
  method?: string
  header?: string[]
  body?: string
  expect?: string
  json?: boolean
  quiet?: boolean
  html?: string
  chaosJournal?: string
  chaos?: string[]
  settle?: string
  grpc?: boolean
  /** send a development token of the workspace's gateway (msvc token) with every HTTP request */
  auth?: boolean
}

/** Where and what to send, and how: the command line, the scenario file and the workspace, resolved. */
export interface LoadtestPlan {
  target: string
  /** where HTTP requests go; undefined when the run has only gRPC calls and no target */
  url?: URL
  requests: LoadRequestSpec[]
  /** the scenario's flows (HTTP), picked with the requests */
  flows: FlowSpec[]
  model: LoadModel
  thresholds: Threshold[]
  timeoutMs: number
  /** threads sending the load (workers.ts) */
  workers: number
  /** load sent before the measured run and not recorded (--warmup): core/loadtest/warmup.ts */
  warmup?: { model: LoadModel; durationMs: number }
}

/**
 * How many worker threads send the load when --workers is not given, on a machine with `cores`:
 * one up to 7 cores, then a quarter of them, at most 4. The system under test usually runs on the
 * same machine (the stack in Docker), so the generator leaves it most of the cores.
 */
export function defaultWorkers(cores: number): number {
  return cores < 8 ? 1 : Math.min(4, Math.floor(cores / 4))
}

const positiveInt = (v: string | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} "${v}" is not a positive whole number`)
  return n
}

const duration = (v: string | undefined, flag: string): number | undefined =>
  v === undefined ? undefined : durationFlag(v, flag)

/** Flags (and a scenario) -> a plan; throws a UserError for anything a user can fix. Pure but for the workspace lookup. */
export function toLoadtestPlan(
  targetArg: string | undefined,
  o: LoadtestCliOptions,
  scenario: Scenario | undefined,
  findService: (name: string) => { url: URL; requests: LoadRequestSpec[] } | { unknown: string[] },
  cores = 1,
): LoadtestPlan {
  let target = targetArg ?? scenario?.target
  // a scenario of gRPC calls only needs no target: each call names its service
  const grpcOnly = scenario !== undefined && !scenario.flows && scenario.requests.every(isGrpcCall)
  if (!target && !grpcOnly)
    throw new UserError(
      'no target',
      'give a service of the workspace or a URL: msvc loadtest order --rate 100, or target: in the scenario',
    )
  let url: URL | undefined
  let requests: LoadRequestSpec[]
  if (!target) {
    target = [...new Set(scenario!.requests.map((r) => (r as GrpcCallSpec).service))].join(', ')
    requests = []
  } else if (isUrlTarget(target)) {
    try {
      url = new URL(target)
    } catch {
      throw new UserError(`"${target}" is not a URL`)
    }
    if (url.protocol !== 'http:')
      throw new UserError(
        `${url.protocol} is not supported`,
        'load an http:// URL (TLS is not supported yet)',
      )
    requests = urlRequests(url)
  } else {
    const found = findService(target)
    if ('unknown' in found) throw new UserError(`unknown service "${target}"`, hintKnown(found.unknown))
    url = found.url
    requests = found.requests
  }
  if (scenario) requests = scenario.requests
  if (o.method || o.header?.length || o.body !== undefined || o.expect) {
    if (scenario || requests.length !== 1)
      throw new UserError(
        '--method, --header, --body and --expect shape a single request to a URL',
        'put them in the scenario file instead',
      )
    const headers: Record<string, string> = {}
    for (const h of o.header ?? []) {
      const i = h.indexOf(':')
      if (i <= 0) throw new UserError(`--header "${h}" is not "name: value"`)
      headers[h.slice(0, i).trim()] = h.slice(i + 1).trim()
    }
    const expect =
      o.expect !== undefined
        ? parseExpect(o.expect.includes(',') ? o.expect.split(',') : o.expect)
        : undefined
    if (o.expect !== undefined && !expect)
      throw new UserError(`--expect "${o.expect}" is not a status`, 'for example 200, 2xx or 200,201')
    const method = (o.method ?? (o.body !== undefined ? 'POST' : 'GET')).toUpperCase()
    const r0 = requests[0]!
    if (isGrpcCall(r0))
      throw new UserError('--method, --header, --body and --expect shape an HTTP request, not a gRPC call')
    requests = [
      {
        ...r0,
        name: `${method} ${r0.path}`,
        method,
        headers,
        ...(o.body !== undefined ? { body: o.body } : {}),
        ...(expect ? { expect } : {}),
      },
    ]
  }

  const thresholds = [...(scenario?.thresholds ?? [])]
  for (const t of o.threshold ?? []) {
    const th = parseThreshold(t)
    if (!th)
      throw new UserError(
        `--threshold "${t}" is not a threshold`,
        'for example p99<300ms, p99.9<1s, mean<20ms or errors<1%',
      )
    thresholds.push(th)
  }

  const connections = positiveInt(o.connections, '--connections') ?? scenario?.connections
  // --connections alone on the command line wins over the scenario's rate or stages (flags win)
  const cliClosed = o.connections !== undefined && o.rate === undefined && o.stages === undefined
  const rate = o.rate !== undefined ? Number(o.rate) : cliClosed ? undefined : scenario?.rate
  if (rate !== undefined && !(rate > 0))
    throw new UserError(`--rate "${o.rate}" is not a positive number of requests per second`)
  const durationMs = duration(o.duration, '--duration') ?? scenario?.durationMs
  const stagesText = o.stages
  const stages = stagesText !== undefined ? parseStages(stagesText) : cliClosed ? undefined : scenario?.stages
  if (stagesText !== undefined && !stages)
    throw new UserError(
      `--stages "${stagesText}" is not a list of stages`,
      'for example --stages 10s:100,30s:1000 (ramp to 100/s over 10 s, then to 1000/s over 30 s)',
    )
  const pipelining = positiveInt(o.pipelining, '--pipelining') ?? 1
  const timeoutMs = duration(o.timeout, '--timeout') ?? 10_000

  let model: LoadModel
  if (
    connections !== undefined &&
    o.connections !== undefined &&
    (o.rate !== undefined || o.stages !== undefined)
  )
    throw new UserError(
      '--connections and --rate/--stages exclude each other',
      'use --rate for the open model, --connections for the closed one',
    )
  if (connections !== undefined && rate === undefined && !stages) {
    model = { kind: 'closed', connections, pipelining, durationMs: durationMs ?? 10_000 }
  } else {
    if (o.pipelining !== undefined)
      throw new UserError('--pipelining goes with --connections (the closed model)')
    let profile: LoadProfile
    if (stages) {
      if (durationMs !== undefined && o.duration !== undefined)
        throw new UserError(
          '--duration and --stages exclude each other',
          'the stages say how long the run lasts',
        )
      profile = { startRate: rate ?? 0, stages }
    } else profile = constantProfile(rate ?? 100, durationMs ?? 10_000)
    if (profileRequests(profile) < 1)
      throw new UserError('the schedule sends no request', 'raise --rate or lengthen --duration')
    model = {
      kind: 'open',
      profile,
      maxConnections: positiveInt(o.maxConnections, '--max-connections') ?? 1000,
    }
  }
  const warmupMs = duration(o.warmup, '--warmup') ?? scenario?.warmupMs
  const warmup = warmupMs !== undefined ? toWarmupModel(model, warmupMs) : undefined
  if (warmup?.kind === 'open' && profileRequests(warmup.profile) < 1)
    throw new UserError(
      `a warm-up of ${warmupMs! / 1000} s sends no request at the run's starting rate`,
      'lengthen --warmup, or drop it',
    )
  const grpc = requests.some(isGrpcCall)
  const asked = positiveInt(o.workers, '--workers')
  if (grpc && asked !== undefined && asked > 1)
    throw new UserError(
      '--workers goes with HTTP requests only for now',
      'run gRPC calls without --workers (one thread)',
    )
  if (asked !== undefined && asked > 1 && model.kind === 'closed' && model.connections < asked)
    throw new UserError(
      `--connections ${model.connections} cannot be shared by --workers ${asked}`,
      'each worker needs a connection of its own: give at least as many connections as workers',
    )
  // the default never asks for more workers than there are connections to share
  const workers =
    asked ?? Math.min(defaultWorkers(cores), model.kind === 'closed' ? model.connections : Infinity)
  return {
    target,
    url,
    requests,
    flows: scenario?.flows ?? [],
    model,
    thresholds,
    timeoutMs,
    workers: grpc ? 1 : workers,
    ...(warmup ? { warmup: { model: warmup, durationMs: warmupMs! } } : {}),
  }
}
