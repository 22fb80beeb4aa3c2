import {
  buildComposeStack,
  NATS_PORTS,
  NATS_SERVICE,
  renderComposeYaml,
  selectWithDependencies,
} from '../core/compose/build-stack.js'
import type { Workspace } from '../core/workspace/model.js'
import { hintKnown } from '../core/workspace/parse.js'
import type { Ctx } from '../context.js'
import { UserError } from '../errors.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { loadWorkspace } from '../io/workspace.js'
import { COMPOSE_FILE, DockerRuntime, writeComposeFile } from '../runtime/docker-runtime.js'
import { TaskList } from '../ui/tasks.js'
import { durationFlag } from './flags.js'

/**
 * Loads the workspace and undoes chaos faults nobody will undo (their msvc died): every stack
 * command is "the next msvc command" of issue #6, so a crash never leaves a fault in place. `down`
 * undoes every fault, held ones included, before it removes the containers. Cheap when the ledger
 * is empty (one failed read).
 */
async function openWorkspace(ctx: Ctx, restoreAll = false) {
  const loaded = await loadWorkspace(ctx.cwd)
  await restoreLeftoverFaults(loaded.root, loaded.workspace, ctx.ui, { all: restoreAll })
  return loaded
}

/** `extra`: the services of docker-compose.override.yml, which logs and restart accept too. */
function checkServiceArgs(ws: Workspace, names: string[], allowNats = false, extra: string[] = []): void {
  for (const n of names)
    if (!ws.services[n] && !(allowNats && n === NATS_SERVICE) && !extra.includes(n))
      throw new UserError(`unknown service "${n}"`, hintKnown([...Object.keys(ws.services), ...extra]))
}

export interface ComposeCliOptions {
  stdout?: boolean
}

/** `msvc compose`: writes docker-compose.yml from msvc.yaml (or prints it). */
export async function runCompose(opts: ComposeCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  if (opts.stdout) return ctx.ui.data(renderComposeYaml(buildComposeStack(workspace)))
  await writeComposeFile(root, workspace)
  ctx.ui.success(
    `wrote ${COMPOSE_FILE} (${Object.keys(buildComposeStack(workspace).services).length} services) in ${root}`,
  )
}

export interface UpCliOptions {
  wait?: boolean
  json?: boolean
  timeout?: string
}

/** `msvc up [service...]`: build what changed, start, wait until healthy, print the URLs. */
export async function runUp(names: string[], opts: UpCliOptions, ctx: Ctx): Promise<void> {
  const t0 = performance.now()
  const { root, workspace } = await openWorkspace(ctx)
  checkServiceArgs(workspace, names)
  const all = names.length === 0
  const timeoutMs = durationFlag(opts.timeout ?? '90s', '--timeout', '90s')
  const runtime = await DockerRuntime.connect(root, workspace)
  // what docker-compose.override.yml adds (a registry, an admin UI) starts with every up
  const selected = [
    ...selectWithDependencies(workspace, all ? Object.keys(workspace.services) : names),
    ...(await runtime.extraServices()),
  ]
  const apps = selected.filter((s) => workspace.services[s])
  const tasks = new TaskList(process.stderr, ctx.ui.color, ctx.ui.interactive && !opts.json, selected)
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
  if (opts.json) {
    ctx.ui.json({
      workspace: workspace.name,
      services: urls,
      built: outcomes.filter((o) => o.bundled || o.imageBuilt).map((o) => o.service),
      // false: nothing changed and everything was running, so compose was not run
      composed,
      timingsMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
    })
    return
  }
  ctx.ui.table(
    urls.map((u) => [u.service, u.http ?? u.nats ?? '-', u.grpc ?? '-', u.metrics ?? u.monitoring ?? '-']),
    ['SERVICE', 'HTTP', 'GRPC', 'METRICS'],
  )
  ctx.ui.info(
    ctx.ui.color.dim(
      `${opts.wait === false ? 'started' : 'healthy'} in ${(timings.total / 1000).toFixed(1)} s (build ${fmt(timings.build)}, image ${fmt(timings.image)}, start ${fmt(timings.start)}, healthy ${fmt(timings.healthy)})`,
    ),
  )
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

export function serviceUrls(ws: Workspace, selected: string[]): ServiceUrls[] {
  return selected.map((service): ServiceUrls => {
    if (service !== NATS_SERVICE && !ws.services[service])
      return { service, note: 'from docker-compose.override.yml' }
    if (service === NATS_SERVICE)
      return {
        service,
        nats: `nats://127.0.0.1:${NATS_PORTS.client}`,
        monitoring: `http://127.0.0.1:${NATS_PORTS.monitor}`,
      }
    const s = ws.services[service]!
    const published = s.replicas === 1
    const http = published ? `http://127.0.0.1:${s.ports.http}` : undefined
    return {
      service,
      ...(http ? { http, metrics: `${http}/metrics` } : {}),
      ...(published && s.ports.grpc !== undefined ? { grpc: `127.0.0.1:${s.ports.grpc}` } : {}),
      ...(published
        ? {}
        : {
            note: `${s.replicas} replicas: reach them as ${service}:${s.ports.http} on the compose network`,
          }),
    }
  })
}

export interface DownCliOptions {
  volumes?: boolean
}

/** `msvc down`: stops and removes this workspace's containers (and volumes with --volumes). */
export async function runDown(opts: DownCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx, true)
  const runtime = await DockerRuntime.connect(root, workspace)
  const { removed, volumes } = await ctx.ui.step(`Stopping ${workspace.name}`, () =>
    runtime.down({ volumes: opts.volumes === true }),
  )
  const parts = [
    ...(removed.length ? [`${removed.length} container(s)`] : []),
    ...(volumes?.length ? [`${volumes.length} volume(s) (${volumes.join(', ')})`] : []),
  ]
  ctx.ui.info(parts.length ? `removed ${parts.join(' and ')}` : 'nothing was running')
}

export interface PsCliOptions {
  json?: boolean
}

/** `msvc ps`: state, health, restarts, ports and uptime per container. */
export async function runPs(opts: PsCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx)
  const runtime = await DockerRuntime.connect(root, workspace)
  const rows = await runtime.ps()
  if (opts.json) return ctx.ui.json(rows)
  if (rows.length === 0) return ctx.ui.info(`no containers of ${workspace.name}; start them with msvc up`)
  const c = ctx.ui.color
  ctx.ui.table(
    rows.map((r) => [
      r.service,
      r.name,
      r.state,
      r.health === 'healthy' ? c.green(r.health) : r.health === 'unhealthy' ? c.red(r.health) : r.health,
      String(r.restarts),
      r.ports.join(', ') || '-',
      r.uptimeSeconds !== undefined ? formatUptime(r.uptimeSeconds) : '-',
    ]),
    ['SERVICE', 'CONTAINER', 'STATE', 'HEALTH', 'RESTARTS', 'PORTS', 'UPTIME'],
  )
}

export function formatUptime(s: number): string {
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
}

export interface LogsCliOptions {
  follow?: boolean
  since?: string
  tail?: string
}

const PALETTE = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red'] as const

/** `msvc logs [service...]`: merged logs, prefixed and coloured by service. */
export async function runLogs(names: string[], opts: LogsCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx)
  const runtime = await DockerRuntime.connect(root, workspace)
  const extra = await runtime.extraServices()
  checkServiceArgs(workspace, names, true, extra)
  const order = [...Object.keys(workspace.services).sort(), NATS_SERVICE, ...extra]
  const width = Math.max(4, ...order.map((s) => s.length))
  const ac = new AbortController()
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  try {
    await runtime.logs(
      names,
      {
        follow: opts.follow === true,
        ...(opts.since ? { since: opts.since } : {}),
        ...(opts.tail ? { tail: Number(opts.tail) } : {}),
      },
      (service, line) => {
        const paint = ctx.ui.color[PALETTE[Math.max(0, order.indexOf(service)) % PALETTE.length]!]
        ctx.ui.data(`${paint(service.padEnd(width))} | ${line}`)
      },
      ac.signal,
    )
  } finally {
    process.off('SIGINT', stop)
  }
}

/** `msvc restart <service>`: restarts its containers and waits until healthy. */
export async function runRestart(name: string, opts: { timeout?: string }, ctx: Ctx): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx)
  const runtime = await DockerRuntime.connect(root, workspace)
  checkServiceArgs(workspace, [name], true, await runtime.extraServices())
  await ctx.ui.step(`Restarting ${name}`, async () => {
    await runtime.restart(name)
    await runtime.waitHealthy([name], {
      timeoutMs: durationFlag(opts.timeout ?? '60s', '--timeout', '60s'),
      onEvent: () => {},
    })
  })
}
