import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseLedger } from '../core/chaos/ledger.js'
import type { Journal } from '../core/chaos/journal.js'
import { parseScheduledFault } from '../core/loadtest/chaos-plan.js'
import {
  checkGrpcServices,
  grpcAddress,
  grpcServiceMix,
  isGrpcCall,
  type GrpcCallSpec,
  type LoadRequestSpec,
} from '../core/loadtest/grpc-scenario.js'
import { compileRequest, parseExpect } from '../core/loadtest/request.js'
import { chaosWindows, type LoadReport } from '../core/loadtest/report.js'
import { parseScenario, type Scenario } from '../core/loadtest/scenario.js'
import {
  constantProfile,
  parseStages,
  profileDurationMs,
  profileRequests,
  type LoadProfile,
} from '../core/loadtest/schedule.js'
import { isUrlTarget, serviceTarget, urlRequests } from '../core/loadtest/targets.js'
import { judgeThresholds, parseThreshold, type Threshold } from '../core/loadtest/thresholds.js'
import { hasCapability } from '../core/workspace/model.js'
import { hintKnown } from '../core/workspace/parse.js'
import type { Ctx } from '../context.js'
import { EXIT, ExitError, UserError } from '../errors.js'
import { durationFlag } from './flags.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { scheduleFaults, type FaultScheduler } from '../io/loadtest/chaos.js'
import { runLoad, type LoadModel } from '../io/loadtest/generator.js'
import { createGrpcCalls, loadGeneratedClients, type GrpcCalls } from '../io/loadtest/grpc-clients.js'
import { engineEdges } from '../io/chaos/lifecycle.js'
import { loadWorkspace } from '../io/workspace.js'
import { formatLiveLine, formatSummary } from '../ui/loadtest.js'
import { renderHtmlReport } from '../ui/loadtest-html.js'

export interface LoadtestCliOptions {
  rate?: string
  duration?: string
  stages?: string
  connections?: string
  pipelining?: string
  maxConnections?: string
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
  grpc?: boolean
}

/** Where and what to send, and how: the command line, the scenario file and the workspace, resolved. */
export interface LoadtestPlan {
  target: string
  /** where HTTP requests go; undefined when the run has only gRPC calls and no target */
  url?: URL
  requests: LoadRequestSpec[]
  model: LoadModel
  thresholds: Threshold[]
  timeoutMs: number
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
): LoadtestPlan {
  let target = targetArg ?? scenario?.target
  // a scenario of gRPC calls only needs no target: each call names its service
  const grpcOnly = scenario !== undefined && scenario.requests.every(isGrpcCall)
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
  return { target, url, requests, model, thresholds, timeoutMs }
}

/** `msvc loadtest <service|url>`: runs the load, prints or writes the reports, exits 2 on a breached threshold. */
export async function runLoadtest(
  targetArg: string | undefined,
  o: LoadtestCliOptions,
  ctx: Ctx,
): Promise<void> {
  let scenario: Scenario | undefined
  if (o.file) {
    const text = await readFile(resolve(ctx.cwd, o.file), 'utf8').catch(() => {
      throw new UserError(`cannot read scenario ${o.file}`)
    })
    const parsed = parseScenario(text)
    if (!parsed.ok)
      throw new UserError(
        `${o.file}: ${parsed.problems[0]}`,
        parsed.problems.length > 1
          ? `${parsed.problems.length - 1} more: ${parsed.problems.slice(1, 4).join('; ')}`
          : undefined,
      )
    scenario = parsed.scenario
  }
  const faults = (o.chaos ?? []).map((text) => {
    try {
      return parseScheduledFault(text)
    } catch (e) {
      if (e instanceof UserError) throw e
      throw new UserError(
        `--chaos: ${(e as Error).message}`,
        'for example --chaos "kill payment@10s" or --chaos "latency inventory 200ms@5s for 20s"',
      )
    }
  })
  if (faults.length && o.chaosJournal)
    throw new UserError('--chaos and --chaos-journal exclude each other', '--chaos marks its own faults')
  const target = targetArg ?? scenario?.target
  const loaded =
    (target && !isUrlTarget(target)) || faults.length || scenario?.requests.some(isGrpcCall)
      ? await loadWorkspace(ctx.cwd)
      : undefined
  const ws = loaded?.workspace
  for (const f of faults)
    if (!ws?.services[f.service])
      throw new UserError(
        `--chaos: unknown service "${f.service}"`,
        hintKnown(Object.keys(ws?.services ?? {})),
      )
  const plan = toLoadtestPlan(targetArg, o, scenario, (name) => {
    const found = ws && serviceTarget(ws, name)
    if (!ws || !found) return { unknown: Object.keys(ws?.services ?? {}) }
    const s = ws.services[name]!
    if (o.grpc && !hasCapability(s, 'grpc'))
      throw new UserError(`--grpc: ${name} has no grpc capability`, 'load its HTTP routes without --grpc')
    // a service with gRPC and no REST resource gets its gRPC methods, not just its health route
    if (o.grpc || (hasCapability(s, 'grpc') && !hasCapability(s, 'http')))
      return { url: found.url, requests: grpcServiceMix(ws, name) }
    return found
  })
  if (o.grpc && (scenario || !targetArg || isUrlTarget(targetArg)))
    throw new UserError('--grpc goes with a service target', 'msvc loadtest order --grpc')

  // gRPC calls: their services must exist and have grpc; then the generated clients are loaded
  // (and their methods and message fields checked) before anything is sent
  const grpcSpecs = plan.requests.flatMap((spec, i) =>
    isGrpcCall(spec) ? [{ spec, at: scenario ? `requests[${i}]` : spec.name }] : [],
  )
  let grpcCalls: GrpcCalls | undefined
  if (grpcSpecs.length) {
    const gws = ws!
    const root = loaded!.root
    const bad = checkGrpcServices(grpcSpecs, gws)
    if (bad.length)
      throw new UserError(
        `${o.file ? `${o.file}: ` : ''}${bad[0]!.message}`,
        [bad[0]!.hint, bad.length > 1 ? `${bad.length - 1} more` : undefined].filter(Boolean).join('; '),
      )
    const services = [...new Set(grpcSpecs.map((g) => g.spec.service))]
    const clients = await loadGeneratedClients(root, gws, services)
    try {
      grpcCalls = createGrpcCalls(clients, gws, grpcSpecs, scenario?.grpc?.resilience ?? 'off')
    } catch (e) {
      if (e instanceof UserError && o.file) throw new UserError(`${o.file}: ${e.message}`, e.hint)
      throw e
    }
  }

  let chaosSource: Parameters<typeof chaosWindows>[0] | undefined
  if (o.chaosJournal) {
    const text = await readFile(resolve(ctx.cwd, o.chaosJournal), 'utf8').catch(() => {
      throw new UserError(`cannot read ${o.chaosJournal}`)
    })
    try {
      const data = JSON.parse(text) as { method?: unknown; faults?: unknown }
      if (Array.isArray(data.method)) chaosSource = data as Journal
      else if (Array.isArray(data.faults)) chaosSource = parseLedger(text).ledger
    } catch {
      /* reported below */
    }
    if (!chaosSource)
      throw new UserError(
        `${o.chaosJournal} is neither a chaos journal nor a restore ledger`,
        'use the file of `msvc chaos run --journal` or .msvc/chaos-ledger.json',
      )
  }

  const host = plan.url?.host ?? ''
  let nextGrpc = 0
  const compiled = plan.requests.map((r) => {
    if (isGrpcCall(r)) return grpcCalls!.calls[nextGrpc++]!
    try {
      return compileRequest(r, host)
    } catch (e) {
      throw new UserError(`${r.name}: ${(e as Error).message}`)
    }
  })
  const where = [
    ...(plan.url && plan.requests.some((r) => !isGrpcCall(r)) ? [plan.url.origin] : []),
    ...(grpcSpecs.length
      ? [`gRPC ${[...new Set(grpcSpecs.map((g) => grpcAddress(g.spec, ws!)))].join(', ')}`]
      : []),
  ].join(', ')
  const totalMs = plan.model.kind === 'open' ? profileDurationMs(plan.model.profile) : plan.model.durationMs
  const ui = ctx.ui
  const quiet = o.quiet === true || o.json === true
  const live = ui.interactive && !o.quiet && process.stderr.isTTY === true
  if (!quiet)
    ui.info(
      `loadtest ${plan.target} (${where}): ${
        plan.model.kind === 'open'
          ? `open model, ${profileRequests(plan.model.profile)} requests over ${totalMs / 1000} s`
          : `closed model, ${plan.model.connections} connections for ${totalMs / 1000} s`
      }`,
    )

  if (grpcCalls) {
    // connected before the clock starts, as the HTTP connections are
    const down = await grpcCalls.connect(3000)
    if (down.length)
      ui.warn(`gRPC ${down.join(', ')}: not connected after 3 s; calls to it fail (is the service up?)`)
  }
  // a fault left behind by an msvc that died would skew what this run measures
  if (loaded) await restoreLeftoverFaults(loaded.root, loaded.workspace, ui, ctx.engine)
  const chaos = faults.length
    ? scheduleFaults(engineEdges(await ctx.engine(), loaded!.root, ws!), faults, (line) => ui.info(line))
    : undefined
  // Ctrl-C (or SIGTERM) ends the run early: what was measured is still reported, faults undone
  const trap = ctx.trapSignals()
  let result
  let chaosResult: Awaited<ReturnType<FaultScheduler['finish']>> | undefined
  try {
    result = await runLoad({
      host: plan.url?.hostname ?? '127.0.0.1',
      port: Number(plan.url?.port || 80),
      requests: compiled,
      model: plan.model,
      timeoutMs: plan.timeoutMs,
      signal: trap.signal,
      ...(chaos ? { onStart: (startMs: number) => chaos.start(startMs) } : {}),
      ...(live
        ? {
            onSecond: (p, totals) => process.stderr.write(`\r\u001b[2K${formatLiveLine(p, totals, totalMs)}`),
          }
        : {}),
    })
  } finally {
    trap.release()
    if (live) process.stderr.write('\r\u001b[2K')
    grpcCalls?.close()
    // every fault the run applied is undone before anything is reported
    chaosResult = await chaos?.finish()
  }
  const chaosFailures = chaosResult?.problems ?? []
  for (const p of chaosFailures) ui.error(`chaos: ${p}`)

  const seconds = result.durationMs / 1000
  const thresholds = judgeThresholds(result, plan.thresholds)
  const report: LoadReport = {
    target: plan.target,
    model: plan.model.kind,
    startedAt: result.startedAt,
    durationMs: Math.round(result.durationMs),
    ...(plan.model.kind === 'open'
      ? { targetRate: profileRequests(plan.model.profile) / (totalMs / 1000) }
      : {}),
    // open model: what left on schedule, over the schedule (or longer, when sends fell behind it)
    achievedRate:
      plan.model.kind === 'open'
        ? result.sent /
          ((result.interrupted ? result.durationMs : Math.max(totalMs, result.sendingMs)) / 1000)
        : seconds > 0
          ? result.requests / seconds
          : 0,
    connections: plan.model.kind === 'closed' ? plan.model.connections : result.connectionsOpened,
    ...(plan.model.kind === 'closed' ? { pipelining: plan.model.pipelining } : {}),
    requests: result.requests,
    errors: result.errors,
    errorRate: result.requests ? result.errors / result.requests : 0,
    latency: result.latency,
    ...(result.sendLag ? { sendLag: result.sendLag } : {}),
    unfinished: result.unfinished,
    endpoints: result.endpoints,
    timeline: result.timeline,
    thresholds,
    passed: thresholds.every((t) => t.ok),
    chaos: chaosResult
      ? chaosResult.windows
      : chaosSource
        ? chaosWindows(chaosSource, result.startMs, result.startMs + result.durationMs)
        : [],
    ...(chaosFailures.length ? { chaosFailures } : {}),
  }

  if (o.html) {
    await writeFile(resolve(ctx.cwd, o.html), renderHtmlReport(report, `msvc ${ctx.version} loadtest`))
    if (!quiet) ui.success(`report written to ${o.html}`)
  }
  if (o.json) ui.json(report)
  else if (!o.quiet) ui.data(formatSummary(report, (s) => ui.color.bold(s)))

  if (result.interrupted) {
    ui.error('cancelled')
    throw new ExitError(EXIT.cancelled)
  }
  // the run did not do what was asked: msvc failed, whatever the thresholds say
  if (chaosFailures.length)
    throw new UserError(
      `${chaosFailures.length} of ${faults.length} --chaos faults failed; the figures above are not of the run asked for`,
      'msvc chaos status shows what is still applied, msvc chaos restore undoes it',
    )
  // no answer: status 0 over HTTP; UNAVAILABLE or CANCELLED (still pending at the end) over gRPC
  const answered = result.endpoints.reduce(
    (n, e) =>
      n +
      e.requests -
      (e.protocol === 'grpc'
        ? (e.statuses.UNAVAILABLE ?? 0) + (e.statuses.CANCELLED ?? 0)
        : (e.statuses['0'] ?? 0)),
    0,
  )
  if (!answered)
    throw new UserError(
      `${where} answered none of ${result.requests} requests`,
      ws ? 'is the service up? try `msvc up` and `msvc ps`' : 'is the server running?',
    )
  if (!report.passed) {
    for (const t of thresholds.filter((t) => !t.ok)) ui.error(`threshold ${t.threshold} breached`)
    throw new ExitError(EXIT.breached)
  }
}
