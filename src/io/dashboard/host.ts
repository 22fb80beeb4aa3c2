/**
 * The dashboard process's parts put together (issue #18): the span store, the log ring, the stack
 * monitor, the runs, the server, and the OTLP listeners, until the signal ends it.
 *
 * Where OTLP is received. The UI and API listen on 127.0.0.1 only. The services in containers
 * export to the host, which they reach through Docker's bridge: `host.docker.internal` mapped to
 * `host-gateway` is the host's address on docker0 (172.17.0.1 by default), and each compose
 * network's gateway is the host's address on that network's bridge. So the receiver also listens
 * on those addresses, and only there (never 0.0.0.0, which would face the LAN), taking requests
 * from loopback and the stack's own networks (their CIDR blocks, read from its containers). On
 * Docker Desktop (macOS, Windows), host.docker.internal reaches the host's loopback, so 127.0.0.1
 * suffices there.
 */
import { networkInterfaces } from 'node:os'
import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describeFault } from '../../core/chaos/faults.js'
import { LABEL } from '../../core/compose/build-stack.js'
import { LogRing, type LogEntry } from '../../core/dashboard/logs.js'
import { firstHostAddress } from '../../core/dashboard/addresses.js'
import { SpanStore } from '../../core/dashboard/spans.js'
import type { Workspace } from '../../core/workspace/model.js'
import { readLedger } from '../chaos/ledger-store.js'
import type { Engine } from '../engine.js'
import { StackMonitor } from './monitor.js'
import { DEFAULT_OTLP_PORT } from './otlp-receiver.js'
import {
  DEFAULT_DASHBOARD_PORT,
  removeDashboardRecord,
  writeDashboardRecord,
  type DashboardRecord,
} from './process.js'
import { RunsStore } from './runs-store.js'
import { startDashboardServer, type DashboardServer } from './server.js'

/**
 * Follows the stack's logs (the runtime's log stream) until the signal aborts: the last `tail`
 * lines of each container first, or only lines since `since` (Unix seconds).
 */
export type FollowLogs = (
  write: (service: string, line: string) => void,
  signal: AbortSignal,
  from: { tail: number } | { since: number },
) => Promise<void>

export interface HostDashboardOptions {
  root: string
  ws: Workspace
  version: string
  assetsDir: string
  port?: number
  /** 0: no OTLP listener of its own (the UI's server still takes OTLP from loopback) */
  otlpPort?: number
  engine?: Engine
  followLogs?: FollowLogs
  /** the engine's container deaths (watchEngineDeaths); without it, deaths show at the next poll */
  watchDeaths?: typeof watchEngineDeaths
  /** also listen for OTLP on the host's Docker bridge addresses (default true) */
  bridge?: boolean
  /** write .msvc/dashboard.json (default true) */
  record?: boolean
  onWarning?: (message: string) => void
}

export interface HostedDashboard {
  server: DashboardServer
  record: DashboardRecord
  store: SpanStore
  monitor: StackMonitor
  /** resolves when the dashboard ends by itself (its workspace's msvc.yaml is gone) */
  ended: Promise<string>
  close(): Promise<void>
}

/**
 * The host's address on Docker's default bridge: what `host-gateway` resolves to on Linux. Asked
 * of the engine first (the bridge network's gateway). An engine whose bridge existed before it
 * started may list only the subnet; then the bridge's interface (docker0) is read: from Node when
 * it is up, from `ip` when it is down (as it is while no container uses the default bridge: Node
 * lists only interfaces that are up and running); last, Docker's default for the subnet, its
 * first host address.
 */
export async function dockerBridgeAddress(withEngine: boolean): Promise<string | undefined> {
  let subnet: string | undefined
  let name = 'docker0'
  if (withEngine)
    try {
      const { docker } = await import('../docker.js')
      const net = (await (await docker()).getNetwork('bridge').inspect()) as {
        IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] }
        Options?: Record<string, string>
      }
      const v4 = net.IPAM?.Config?.filter((c) => !c.Subnet?.includes(':') && !c.Gateway?.includes(':'))
      const gw = v4?.find((c) => c.Gateway)?.Gateway
      if (gw) return gw
      subnet = v4?.find((c) => c.Subnet)?.Subnet
      name = net.Options?.['com.docker.network.bridge.name'] ?? name
    } catch {
      // no engine, or no default bridge: fall through
    }
  const listed = networkInterfaces()[name]?.find((a) => a.family === 'IPv4')?.address
  if (listed) return listed
  const shown = await execa('ip', ['-4', '-o', 'addr', 'show', 'dev', name], { reject: false })
  const fromIp = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(String(shown.stdout ?? ''))?.[1]
  if (fromIp) return fromIp
  return subnet ? firstHostAddress(subnet) : undefined
}

/** Starts everything; close() stops it and removes the record. */
export async function hostDashboard(o: HostDashboardOptions): Promise<HostedDashboard> {
  const warn = o.onWarning ?? (() => {})
  const store = new SpanStore()
  const logs = new LogRing()
  // the server is made after the monitor: asked through this, once both exist
  let watched: () => boolean = () => true
  const monitor = new StackMonitor({
    ws: o.ws,
    isWatched: () => watched(),
    ...(o.engine ? { engine: o.engine } : {}),
    // the ledger msvc chaos writes before it applies a fault: one failed read when there is none
    readFaults: async () =>
      (await readLedger(o.root)).faults.map((f) => ({
        service: f.service,
        label: describeFault(f.spec),
        appliedAt: f.appliedAt,
        ...(f.until ? { until: f.until } : {}),
      })),
  })
  const runs = new RunsStore(o.root)
  const server = await startDashboardServer({
    root: o.root,
    ws: o.ws,
    version: o.version,
    assetsDir: o.assetsDir,
    store,
    logs,
    monitor,
    runs,
    port: o.port ?? DEFAULT_DASHBOARD_PORT,
    otlpAllow: () => monitor.networkCidrs,
  })
  watched = () => server.isWatched()
  const otlpPort = o.otlpPort ?? DEFAULT_OTLP_PORT
  const otlpAddresses: string[] = []
  const listening = new Set<string>()
  const listenOtlp = async (host: string) => {
    if (listening.has(host) || otlpPort === 0) return
    listening.add(host)
    try {
      await server.listenOtlp(host, otlpPort)
      otlpAddresses.push(`${host}:${otlpPort}`)
    } catch (e) {
      warn(`OTLP on ${host}:${otlpPort}: ${(e as Error).message}`)
    }
  }
  await listenOtlp('127.0.0.1')
  const bridge = o.bridge !== false ? await dockerBridgeAddress(o.engine !== undefined) : undefined
  if (bridge) await listenOtlp(bridge)

  // logs: follow the running containers; again whenever that set changes (a restart, a new up)
  let logAbort: AbortController | undefined
  let following = ''
  let followedOnce = false
  let pending: LogEntry[] = []
  const flush = setInterval(() => {
    if (pending.length) server.publishLogs(pending.splice(0))
  }, 250)
  flush.unref()
  const offMonitor = monitor.subscribe(() => {
    if (o.bridge !== false) for (const g of monitor.networkGateways) void listenOtlp(g)
    if (!o.followLogs || monitor.containerSet === following) return
    following = monitor.containerSet
    logAbort?.abort()
    if (!following) return
    const ac = new AbortController()
    logAbort = ac
    // the first time, each container's recent lines; after a change, only what is new, so that
    // the lines of containers that kept running are not shown twice
    const from = followedOnce ? { since: Math.floor(Date.now() / 1000) } : { tail: 200 }
    followedOnce = true
    o.followLogs(
      (service, line) => {
        if (line) pending.push(logs.add(service, line, Date.now()))
      },
      ac.signal,
      from,
    ).catch((e: unknown) => warn(`logs: ${(e as Error).message}`))
  })
  monitor.start()
  const stopEvents = o.watchDeaths
    ? await o.watchDeaths(o.ws.name, (service) => monitor.markDown(service), warn)
    : () => {}

  const record: DashboardRecord = {
    pid: process.pid,
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    otlpPort,
    otlpAddresses,
    root: o.root,
    startedAt: new Date().toISOString(),
    version: o.version,
  }
  if (o.record !== false) await writeDashboardRecord(o.root, record)

  // a dashboard whose workspace was deleted (a test's temp folder) has nothing left to show
  let end: (why: string) => void = () => {}
  const ended = new Promise<string>((resolve) => (end = resolve))
  const orphan = setInterval(() => {
    if (!existsSync(join(o.root, 'msvc.yaml'))) end(`${o.root}/msvc.yaml is gone`)
  }, 5000)
  orphan.unref()

  async function close() {
    clearInterval(orphan)
    clearInterval(flush)
    offMonitor()
    stopEvents()
    monitor.stop()
    logAbort?.abort()
    await server.close()
    if (o.record !== false) await removeDashboardRecord(o.root)
    pending = []
  }
  return { server, record, store, monitor, ended, close }
}

/**
 * Calls `onDeath` with the service of each of the workspace's containers that dies, from the
 * engine's event stream (filtered by the workspace's label, as everything msvc watches). Returns
 * the function that stops watching. Without an answering engine it watches nothing.
 */
export async function watchEngineDeaths(
  workspace: string,
  onDeath: (service: string) => void,
  warn: (m: string) => void,
): Promise<() => void> {
  try {
    const { docker } = await import('../docker.js')
    const stream = (await (
      await docker()
    ).getEvents({
      filters: { type: ['container'], event: ['die'], label: [`${LABEL.workspace}=${workspace}`] },
    })) as NodeJS.ReadableStream & { destroy(): void }
    let rest = ''
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.trim()) continue
        try {
          const ev = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } }
          const service = ev.Actor?.Attributes?.[LABEL.service]
          if (service) onDeath(service)
        } catch {
          // not an event: skipped
        }
      }
    })
    stream.on('error', () => {})
    return () => stream.destroy()
  } catch (e) {
    warn(`the engine's events: ${(e as Error).message}; deaths show at the next poll`)
    return () => {}
  }
}
