import { writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { parseDuration } from '../core/chaos/units.js'
import { parseScheduledFault } from '../core/loadtest/chaos-plan.js'
import { DEFAULT_SETTLE_MS } from '../core/loadtest/phases.js'
import { checkGrpcServices, grpcAddress, grpcServiceMix, isGrpcCall } from '../core/loadtest/grpc-scenario.js'
import { compileFlow } from '../core/loadtest/flow.js'
import { withWarmup } from '../core/loadtest/warmup.js'
import { compileRequest, type RequestSpec } from '../core/loadtest/request.js'
import {
  answeredRequests,
  chaosWindows,
  modelDurationMs,
  toLoadReport,
  type LoadReport,
  type SecondPoint,
} from '../core/loadtest/report.js'
import type { ThresholdResult } from '../core/loadtest/thresholds.js'
import { profileRequests } from '../core/loadtest/schedule.js'
import { isUrlTarget, loadTarget } from '../core/loadtest/targets.js'
import { hasCapability, type GatewayRouteSpec } from '../core/workspace/model.js'
import { hintKnown } from '../core/workspace/parse.js'
import type { Ctx } from '../context.js'
import { listStackNames, stackMember } from '../core/compose/build-stack.js'
import { EXIT, ExitError, UserError } from '../errors.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { scheduleFaults, type FaultScheduler } from '../io/loadtest/chaos.js'
import { runLoad } from '../io/loadtest/generator.js'
import { runLoadInWorkers } from '../io/loadtest/workers.js'
import { createGrpcCalls, loadGeneratedClients, type GrpcCalls } from '../io/loadtest/grpc-clients.js'
import { engineEdges } from '../io/chaos/lifecycle.js'
import { readChaosSource, readScenarioFile } from '../io/loadtest/inputs.js'
import { loadWorkspace } from '../io/workspace.js'
import { keepRun } from '../io/dashboard/runs-store.js'
import { formatLiveLine, formatSummary } from '../ui/loadtest.js'
import { renderHtmlReport } from '../ui/loadtest-html.js'
import { toLoadtestPlan, type LoadtestCliOptions } from './loadtest-plan.js'
import { mintDevToken } from './token.js'

/** "threshold fault:errors<5% breached in the fault phase: 12.3 %" */
export function describeBreach(t: ThresholdResult, report: LoadReport): string {
  const where = t.phase ? ` in the ${t.phase} phase` : ''
  const phase = t.phase ? report.phases?.find((p) => p.phase === t.phase) : undefined
  if (t.phase && !phase?.requests)
    return `threshold ${t.threshold} breached: the run had no answers${where} (${
      phase ? 'none arrived in its seconds' : 'the run ended before it'
    })`
  const actual = t.stat === 'errors' ? `${(t.actual * 100).toFixed(1)} % errors` : `${t.actual} ms`
  return `threshold ${t.threshold} breached${where}: ${actual}`
}

/** `msvc loadtest <service|url>`: runs the load, prints or writes the reports, exits 2 on a breached threshold. */
export async function runLoadtest(
  targetArg: string | undefined,
  o: LoadtestCliOptions,
  ctx: Ctx,
): Promise<void> {
  const scenario = o.file ? await readScenarioFile(ctx.cwd, o.file) : undefined
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
    if (!ws || !stackMember(ws, f.service))
      throw new UserError(`--chaos: unknown service "${f.service}"`, hintKnown(ws ? listStackNames(ws) : []))
  let route: GatewayRouteSpec | undefined
  const plan = toLoadtestPlan(
    targetArg,
    o,
    scenario,
    (name) => {
      const found = ws && loadTarget(ws, name)
      if (!ws || !found) return { unknown: Object.keys(ws?.services ?? {}) }
      if ('unreachable' in found)
        throw new UserError(
          `${name} cannot be reached from here: ${found.unreachable}`,
          `add publish: true to services.${name} in msvc.yaml, or load a URL`,
        )
      route = found.via?.route
      const s = ws.services[name]!
      if (o.grpc && !hasCapability(s, 'grpc'))
        throw new UserError(`--grpc: ${name} has no grpc capability`, 'load its HTTP routes without --grpc')
      // a service with gRPC and no REST resource gets its gRPC methods, not just its health route
      if (o.grpc || (hasCapability(s, 'grpc') && !hasCapability(s, 'http')))
        return { url: found.url, requests: grpcServiceMix(ws, name) }
      return found
    },
    availableParallelism(),
  )
  // a phase is cut out of the run by its faults: without any, there is none to judge
  const phased = plan.thresholds.filter((t) => t.phase)
  if (phased.length && !faults.length && !o.chaosJournal)
    throw new UserError(
      `threshold ${phased[0]!.text} judges a phase of a run with faults, and this run has none`,
      'add --chaos "kill payment@10s" (or --chaos-journal), or drop the phase',
    )
  const settleMs = o.settle !== undefined ? parseDuration(o.settle) : DEFAULT_SETTLE_MS
  if (settleMs === undefined)
    throw new UserError(`--settle "${o.settle}" is not a duration`, 'for example --settle 5s')
  if (o.grpc && (scenario || !targetArg || isUrlTarget(targetArg)))
    throw new UserError('--grpc goes with a service target', 'msvc loadtest order --grpc')
  // through the gateway: a route that needs a token gets one with --auth (the route's first role)
  const rule = route && !o.grpc ? /^jwt(?:\(roles=([^,)]+))?/.exec(route.auth) : undefined
  if (rule && !o.auth)
    throw new UserError(
      `${targetArg} is reached through the gateway's ${route!.path}, which needs a token`,
      'pass --auth to send a development token (msvc token) with every request',
    )
  if (o.auth) {
    const where = loaded ?? (await loadWorkspace(ctx.cwd))
    const token = await mintDevToken(where.root, where.workspace, {
      sub: 'msvc-loadtest',
      roles: rule?.[1] ? [rule[1]] : [],
      ttlSec: 24 * 3600,
    })
    for (const r of [...plan.requests, ...plan.flows.flatMap((f) => f.steps)])
      if (!isGrpcCall(r)) r.headers = { ...r.headers, authorization: `Bearer ${token}` }
  }

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

  const chaosSource = o.chaosJournal ? await readChaosSource(ctx.cwd, o.chaosJournal) : undefined

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
  // placeholders were checked when the scenario was read: this cannot fail on a user's input
  const flows = plan.flows.map((f) => compileFlow(f, host))
  const where = [
    ...(plan.url && (plan.flows.length || plan.requests.some((r) => !isGrpcCall(r)))
      ? [plan.url.origin]
      : []),
    ...(grpcSpecs.length
      ? [`gRPC ${[...new Set(grpcSpecs.map((g) => grpcAddress(g.spec, ws!)))].join(', ')}`]
      : []),
  ].join(', ')
  const totalMs = modelDurationMs(plan.model)
  const ui = ctx.ui
  const quiet = o.quiet === true || o.json === true
  // a line rewritten each second on a terminal (nothing otherwise)
  const live = !o.quiet ? ui.statusLine() : undefined
  if (!quiet)
    ui.info(
      `loadtest ${plan.target} (${where}): ${
        plan.model.kind === 'open'
          ? `open model, ${profileRequests(plan.model.profile)} ${plan.flows.length ? 'requests and flow iterations' : 'requests'} over ${totalMs / 1000} s`
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
    ? scheduleFaults(
        engineEdges(await ctx.engine(), loaded!.root, ws!),
        faults,
        (line) => ui.info(line),
        // watched up to the run's length: a service not back by its end is in recovery to the end
        (service) => {
          const m = stackMember(ws!, service)
          return {
            timeoutMs: Math.max(totalMs, 1000),
            ...(m?.kind === 'service' ? { httpPort: m.httpPort } : {}),
          }
        },
      )
    : undefined
  // Ctrl-C (or SIGTERM) ends the run early: what was measured is still reported, faults undone
  const trap = ctx.trapSignals()
  let result
  let chaosResult: Awaited<ReturnType<FaultScheduler['finish']>> | undefined
  try {
    const common = {
      host: plan.url?.hostname ?? '127.0.0.1',
      port: Number(plan.url?.port || 80),
      timeoutMs: plan.timeoutMs,
      signal: trap.signal,
      // --warmup: the schedule begins with it, on the same connections; nothing of it is recorded
      ...(plan.warmup
        ? { model: withWarmup(plan.model, plan.warmup.model), warmupMs: plan.warmup.durationMs }
        : { model: plan.model }),
      // the seconds' histograms, for the figures of each phase
      keepSeconds: faults.length > 0 || chaosSource !== undefined,
      ...(chaos ? { onStart: (startMs: number) => chaos.start(startMs) } : {}),
      ...(live
        ? {
            onSecond: (p: SecondPoint, totals: Parameters<typeof formatLiveLine>[1]) =>
              live.set(formatLiveLine(p, totals, totalMs)),
          }
        : {}),
    }
    if (plan.warmup) live?.set(`warming up for ${plan.warmup.durationMs / 1000} s (not recorded)`)
    result =
      plan.workers > 1
        ? await runLoadInWorkers({
            ...common,
            workers: plan.workers,
            hostHeader: host,
            requests: plan.requests.filter((r): r is RequestSpec => !isGrpcCall(r)),
            ...(plan.flows.length ? { flows: plan.flows } : {}),
          })
        : await runLoad({ ...common, requests: compiled, ...(flows.length ? { flows } : {}) })
  } finally {
    trap.release()
    live?.clear()
    grpcCalls?.close()
    // every fault the run applied is undone before anything is reported
    chaosResult = await chaos?.finish()
  }
  if (result.cutInWarmup) {
    ui.error('cancelled during the warm-up: nothing was measured')
    throw new ExitError(EXIT.cancelled)
  }
  const chaosFailures = chaosResult?.problems ?? []
  for (const p of chaosFailures) ui.error(`chaos: ${p}`)

  const report = toLoadReport({
    target: plan.target,
    model: plan.model,
    result,
    thresholds: plan.thresholds,
    chaos: chaosResult
      ? chaosResult.windows
      : chaosSource
        ? chaosWindows(chaosSource, result.startMs, result.startMs + result.durationMs)
        : [],
    chaosFailures,
    settleMs,
    ...(result.warmup ? { warmup: result.warmup } : {}),
  })

  if (o.html) {
    await writeFile(resolve(ctx.cwd, o.html), renderHtmlReport(report, `msvc ${ctx.version} loadtest`))
    if (!quiet) ui.success(`report written to ${o.html}`)
  }
  if (o.json) ui.json(report)
  else if (!o.quiet) ui.data(formatSummary(report, (s) => ui.color.bold(s)))
  // a copy for the dashboard's runs, in the workspace the run was made from (if any)
  const home = loaded ?? (await loadWorkspace(ctx.cwd).catch(() => undefined))
  // a copy that cannot be written (a read-only .msvc, say) is a warning: the run ends by its own outcome
  if (home)
    await keepRun(home.root, 'load', Date.parse(report.startedAt), report).catch((e: unknown) =>
      ui.warn(
        `the report was not kept in .msvc/runs: ${(e as Error).message}`,
        'the dashboard shows it once saved with --json > load/<name>.json',
      ),
    )

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
  const answered = answeredRequests(result.endpoints)
  if (!answered)
    throw new UserError(
      `${where} answered none of ${result.requests} requests`,
      ws ? 'is the service up? try `msvc up` and `msvc ps`' : 'is the server running?',
    )
  if (!report.passed) {
    // a breach the generator's own delay may explain is not the system's: it cannot exit 2 alone
    const breached = report.thresholds.filter((t) => !t.ok && t.trusted !== false)
    const unjudged = report.thresholds.filter((t) => !t.ok && t.trusted === false)
    for (const t of breached) ui.error(describeBreach(t, report))
    const names = unjudged.map((t) => t.threshold).join(', ')
    if (breached.length) {
      if (unjudged.length) ui.warn(`threshold ${names} not judged: the generator was saturated`)
      throw new ExitError(EXIT.breached)
    }
    throw new UserError(
      `threshold ${names} not judged: the generator was saturated (${report.generator.reasons.join('; ')}), so the latencies may be its own`,
      report.generator.hint,
    )
  }
}
