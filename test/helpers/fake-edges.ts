import type Dockerode from 'dockerode'
import { Writable } from 'node:stream'
import { stripVTControlCharacters } from 'node:util'
import { main } from '../../src/cli.js'
import type { Ctx } from '../../src/context.js'
import { LABEL } from '../../src/core/compose/build-stack.js'
import { UserError } from '../../src/errors.js'
import type { Engine, EngineContainer } from '../../src/io/engine.js'
import type {
  BuildOutcome,
  ContainerStatus,
  LogOptions,
  PhaseEvent,
  Runtime,
} from '../../src/runtime/runtime.js'

// Fake edges for in-process command tests (issue #14 §1): what a command did, without Docker.
// The real edges are exercised by the integration and e2e tests against a real engine.

class Capture extends Writable {
  text = ''
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString()
    cb()
  }
}

/** A dashboard edge that starts no process: `up` is told one runs at the default URL. */
export const fakeDashboard = {
  ensure: async (root: string) => ({
    record: {
      pid: 0,
      url: 'http://127.0.0.1:4400',
      port: 4400,
      otlpPort: 4318,
      otlpAddresses: ['127.0.0.1:4318'],
      root,
      startedAt: new Date(0).toISOString(),
      version: '0.0.0-test',
    },
    started: false,
  }),
  stop: async () => false,
}

/** Runs `msvc <argv>` in process, as the bin does, with the given edges; output captured. */
export async function runMsvc(
  argv: string[],
  cwd: string,
  edges: Partial<Pick<Ctx, 'runtime' | 'engine' | 'trapSignals' | 'dashboard'>>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture()
  const stderr = new Capture()
  const code = await main('msvc', {
    argv: ['node', 'msvc', ...argv],
    cwd,
    env: { NO_COLOR: '1', CI: '1', PATH: process.env.PATH ?? '' },
    stdout,
    stderr,
    edges: { dashboard: async () => fakeDashboard, ...edges },
  })
  return {
    code,
    stdout: stripVTControlCharacters(stdout.text),
    stderr: stripVTControlCharacters(stderr.text),
  }
}

/** A signal trap whose signal fires after `ms` (a Ctrl-C at that moment), or never. */
export function trapFiringAfter(ms?: number): Ctx['trapSignals'] {
  return () => {
    const ac = new AbortController()
    const timer = ms === undefined ? undefined : setTimeout(() => ac.abort(), ms)
    return {
      signal: ac.signal,
      received: () => (ac.signal.aborted ? 'SIGINT' : undefined),
      release: () => clearTimeout(timer),
    }
  }
}

/** A runtime that records what it was asked and answers as told. */
export class FakeRuntime implements Runtime {
  calls: string[] = []
  /** a service that never becomes healthy */
  unhealthy?: string
  containers: ContainerStatus[] = []
  extra: string[] = []
  logLines: [service: string, line: string][] = []

  async extraServices() {
    return this.extra
  }
  async build(services: string[], onEvent: (e: PhaseEvent) => void): Promise<BuildOutcome[]> {
    this.calls.push(`build ${services.join(',')}`)
    for (const service of services) onEvent({ service, phase: 'built' })
    return services.map((service) => ({
      service,
      bundled: true,
      imageBuilt: true,
      ms: { bundle: 5, image: 7 },
    }))
  }
  async up(services: string[], opts?: { unlessApplied?: boolean }) {
    this.calls.push(`up ${services.join(',') || '(all)'}${opts?.unlessApplied ? ' unless-applied' : ''}`)
    return true
  }
  async waitHealthy(services: string[], opts: { timeoutMs: number; onEvent: (e: PhaseEvent) => void }) {
    this.calls.push(`wait ${services.join(',')} ${opts.timeoutMs}ms`)
    if (this.unhealthy && services.includes(this.unhealthy))
      throw new UserError(
        `${this.unhealthy} is not healthy: health check failing`,
        `msvc logs ${this.unhealthy}`,
      )
    for (const service of services) opts.onEvent({ service, phase: 'healthy' })
  }
  async ps() {
    return this.containers
  }
  async down(opts: { volumes: boolean }) {
    this.calls.push(`down${opts.volumes ? ' --volumes' : ''}`)
    return { removed: ['shop-order-1', 'shop-nats-1'], ...(opts.volumes ? { volumes: ['shop_data'] } : {}) }
  }
  async restart(service: string) {
    this.calls.push(`restart ${service}`)
  }
  async logs(
    services: string[],
    opts: LogOptions,
    write: (service: string, line: string) => void,
    signal?: AbortSignal,
  ) {
    this.calls.push(
      `logs ${services.join(',') || '(all)'}${opts.follow ? ' follow' : ''}${opts.tail ? ` tail ${opts.tail}` : ''}`,
    )
    for (const [s, l] of this.logLines) write(s, l)
    if (opts.follow && signal && !signal.aborted)
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }))
  }
  async tail() {
    return ''
  }
}

interface FakeContainer {
  info: Dockerode.ContainerInfo
  pid: number
  startedAt: string
  paused: boolean
  running: boolean
  /** host port its HTTP port is published on */
  hostPort?: number
  httpPort: number
}

/** An engine with running containers of a workspace; pause/unpause/stop/start change their state. */
export class FakeEngine implements Engine {
  calls: string[] = []
  readonly containers = new Map<string, FakeContainer>()

  add(ws: string, service: string, o: { httpPort: number; hostPort?: number; replica?: number }): string {
    const replica = o.replica ?? 1
    const id = `${service}${replica}`.padEnd(64, '0')
    this.containers.set(id, {
      info: {
        Id: id,
        Names: [`/${ws}-${service}-${replica}`],
        State: 'running',
        Labels: {
          [LABEL.workspace]: ws,
          [LABEL.service]: service,
          'com.docker.compose.container-number': String(replica),
        },
      } as unknown as Dockerode.ContainerInfo,
      pid: 1000 + this.containers.size,
      startedAt: '2026-12-04T00:00:00.000Z',
      paused: false,
      running: true,
      httpPort: o.httpPort,
      ...(o.hostPort !== undefined ? { hostPort: o.hostPort } : {}),
    })
    return id
  }

  async ping() {
    return 'OK'
  }
  async listContainers(o: { all?: boolean; filters?: Record<string, string[]> }) {
    const want = o.filters?.label ?? []
    return [...this.containers.values()]
      .filter((c) =>
        want.every((l) => {
          const [k, v] = l.split('=')
          return c.info.Labels[k!] === v
        }),
      )
      .map((c) => ({ ...c.info, State: c.paused ? 'paused' : c.running ? 'running' : 'exited' }))
  }
  getContainer(id: string): EngineContainer {
    const c = this.containers.get(id)
    const need = () => {
      if (!c) throw Object.assign(new Error(`no such container: ${id}`), { statusCode: 404 })
      return c
    }
    const act = (name: string, fn: (c: FakeContainer) => void) => async () => {
      this.calls.push(`${name} ${need().info.Names[0]!.slice(1)}`)
      fn(need())
    }
    return {
      inspect: async () => {
        const x = need()
        return {
          State: {
            Pid: x.running ? x.pid : 0,
            StartedAt: x.startedAt,
            Paused: x.paused,
            Running: x.running,
            Status: x.paused ? 'paused' : x.running ? 'running' : 'exited',
          },
          NetworkSettings: {
            Networks: { shop_default: { IPAddress: '' } },
            Ports: x.hostPort
              ? { [`${x.httpPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(x.hostPort) }] }
              : {},
          },
        } as unknown as Dockerode.ContainerInspectInfo
      },
      pause: act('pause', (x) => (x.paused = true)),
      unpause: act('unpause', (x) => (x.paused = false)),
      stop: act('stop', (x) => (x.running = false)),
      start: act('start', (x) => (x.running = true)),
      restart: act('restart', (x) => (x.startedAt = new Date().toISOString())),
      kill: act('kill', (x) => (x.running = false)),
      remove: act('remove', () => {}),
      wait: async () => ({}),
      logs: async () => Buffer.alloc(0),
    }
  }
}
