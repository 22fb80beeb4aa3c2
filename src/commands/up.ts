import {
  JAEGER_UI_PORT,
  NATS_PORTS,
  NATS_SERVICE,
  POSTGRES_PORT,
  selectWithDependencies,
  stackMember,
} from '../core/compose/build-stack.js'
import { GRAFANA_PORT } from '../core/observability/grafana.js'
import { PROMETHEUS_PORT } from '../core/observability/prometheus.js'
import {
  findGateway,
  listObservabilityBackends,
  publishesPorts,
  type ObservabilityBackend,
  type ServiceSpec,
  type Workspace,
} from '../core/workspace/model.js'
import type { Ctx } from '../context.js'
import { ensureDevSecret } from '../io/dotenv.js'
import { durationFlag } from './flags.js'
import { openWorkspace, checkServiceArgs } from './stack-workspace.js'

export interface UpCliOptions {
  wait?: boolean
  json?: boolean
  /** false with --no-dashboard */
  dashboard?: boolean
  timeout?: string
}

/** `msvc up [service...]`: build what changed, start, wait until healthy, print the URLs. */
export async function runUp(names: string[], opts: UpCliOptions, ctx: Ctx): Promise<void> {
  const t0 = performance.now()
  const { root, workspace } = await openWorkspace(ctx)
  const backends = listObservabilityBackends(workspace)
  checkServiceArgs(workspace, names, false, backends)
  const all = names.length === 0
  const timeoutMs = durationFlag(opts.timeout ?? '90s', '--timeout', '90s')
  // the gateway's secret reaches it through compose's .env; a fresh clone has none yet
  if (findGateway(workspace) && (await ensureDevSecret(root)))
    ctx.ui.info(ctx.ui.color.dim("wrote the gateway's development secret to .env (git-ignored)"))
  const runtime = await ctx.runtime(root, workspace)
  // what docker-compose.override.yml adds (a registry, an admin UI) starts with every up
  const selected = [
    ...selectWithDependencies(workspace, all ? [...Object.keys(workspace.services), ...backends] : names),
    ...(await runtime.extraServices()),
  ]
  const apps = selected.filter((s) => workspace.services[s])
  const tasks = ctx.ui.taskList(selected, !opts.json)
  const timings = { build: 0, image: 0, start: 0, healthy: 0, total: 0 }

  const outcomes = await runtime.build(apps, (e) => tasks.update(e))
  for (const o of outcomes) {
    timings.build += o.ms.bundle
    timings.image += o.ms.image
  }
  const t1 = performance.now()
  const rebuilt = outcomes.some((o) => o.bundled || o.imageBuilt)
  const composed = await runtime.up(all ? [] : selected, { unlessApplied: !rebuilt })
  for (const s of selected) tasks.update({ service: s, phase: 'starting' })
  const t2 = performance.now()
  timings.start = t2 - t1
  if (opts.wait !== false) await runtime.waitHealthy(selected, { timeoutMs, onEvent: (e) => tasks.update(e) })
  timings.healthy = performance.now() - t2
  timings.total = performance.now() - t0
  const urls = serviceUrls(workspace, selected)
  const dashboard = opts.dashboard === false ? undefined : await ensureDashboard(root, ctx)
  if (opts.json) {
    ctx.ui.json({
      workspace: workspace.name,
      services: urls,
      built: outcomes.filter((o) => o.bundled || o.imageBuilt).map((o) => o.service),
      // false: nothing changed and everything was running, so compose was not run
      composed,
      ...(dashboard ? { dashboard } : {}),
      timingsMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
    })
    return
  }
  ctx.ui.table(
    urls.map((u) => [u.service, u.http ?? u.nats ?? '-', u.grpc ?? '-', u.metrics ?? u.monitoring ?? '-']),
    ['SERVICE', 'HTTP', 'GRPC', 'METRICS'],
  )
  for (const u of urls)
    if (u.note && (workspace.services[u.service] || backends.includes(u.service as ObservabilityBackend)))
      ctx.ui.info(`${u.service}: ${u.note}`)
  if (dashboard) ctx.ui.info(`dashboard: ${dashboard}`)
  ctx.ui.info(
    ctx.ui.color.dim(
      `${opts.wait === false ? 'started' : 'healthy'} in ${(timings.total / 1000).toFixed(1)} s (build ${fmt(timings.build)}, image ${fmt(timings.image)}, start ${fmt(timings.start)}, healthy ${fmt(timings.healthy)})`,
    ),
  )
}

/**
 * The dashboard's URL, started in the background if none runs (issue #18). A dashboard that cannot
 * start (its port taken, say) is a warning: the stack is up all the same.
 */
async function ensureDashboard(root: string, ctx: Ctx): Promise<string | undefined> {
  try {
    const { record } = await (await ctx.dashboard()).ensure(root)
    return record.url
  } catch (e) {
    ctx.ui.warn(
      `the dashboard did not start: ${(e as Error).message}`,
      'msvc dashboard --foreground shows why',
    )
    return undefined
  }
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`

export interface ServiceUrls {
  service: string
  http?: string
  grpc?: string
  metrics?: string
  nats?: string
  monitoring?: string
  note?: string
}

/** Where each observability backend's UI (or API) answers on the host. */
const BACKEND_URLS: Record<ObservabilityBackend, string> = {
  prometheus: `http://127.0.0.1:${PROMETHEUS_PORT}`,
  grafana: `http://127.0.0.1:${GRAFANA_PORT}`,
  jaeger: `http://127.0.0.1:${JAEGER_UI_PORT}`,
}

const BACKEND_NOTES: Record<ObservabilityBackend, string> = {
  prometheus: 'scrapes every replica; its alerts at /alerts (API: /api/v1/alerts), rules at /rules',
  grafana: 'the RED / breakers / events dashboard, anonymous read-only',
  jaeger: 'the services export their traces here (OTLP/HTTP jaeger:4318) instead of to the dashboard',
}

export function serviceUrls(ws: Workspace, selected: string[]): ServiceUrls[] {
  return selected.map((service): ServiceUrls => {
    const member = stackMember(ws, service)
    if (member?.kind === 'database')
      return {
        service,
        note: `PostgreSQL of ${member.owner}, on the compose network as ${service}:${POSTGRES_PORT}`,
      }
    const backend = listObservabilityBackends(ws).find((b) => b === service)
    if (backend) return { service, http: BACKEND_URLS[backend], note: BACKEND_NOTES[backend] }
    if (service !== NATS_SERVICE && !ws.services[service])
      return { service, note: 'from docker-compose.override.yml' }
    if (service === NATS_SERVICE)
      return {
        service,
        nats: `nats://127.0.0.1:${NATS_PORTS.client}`,
        monitoring: `http://127.0.0.1:${NATS_PORTS.monitor}`,
      }
    const s = ws.services[service]!
    const published = publishesPorts(ws, service)
    const http = published ? `http://127.0.0.1:${s.ports.http}` : undefined
    return {
      service,
      ...(http ? { http, metrics: `${http}/metrics` } : {}),
      ...(published && s.ports.grpc !== undefined ? { grpc: `127.0.0.1:${s.ports.grpc}` } : {}),
      ...(published
        ? s.kind === 'gateway'
          ? { note: entryNote(s) }
          : {}
        : { note: hiddenNote(ws, service) }),
    }
  })
}

/** The gateway's line: it is the way in, and where each route leads. */
function entryNote(s: ServiceSpec): string {
  const routes = s.gateway?.routes ?? []
  return routes.length
    ? `entry point: ${routes.map((r) => `${r.path} -> ${r.service}`).join(', ')}`
    : 'entry point (no routes yet: add an HTTP service)'
}

/** Where to reach a service whose ports are not published: through the gateway, or on the network. */
function hiddenNote(ws: Workspace, service: string): string {
  const s = ws.services[service]!
  const gateway = findGateway(ws)
  const route = gateway ? ws.services[gateway]!.gateway?.routes.find((r) => r.service === service) : undefined
  const replicas = s.replicas === 1 ? '' : `${s.replicas} replicas; `
  if (gateway && route)
    return `${replicas}through the gateway: http://127.0.0.1:${ws.services[gateway]!.ports.http}${route.path}`
  const how = gateway && s.replicas === 1 ? ' (publish: true in msvc.yaml publishes its port)' : ''
  return `${replicas}reach it as ${service}:${s.ports.http} on the compose network${how}`
}
