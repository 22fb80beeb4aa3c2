import { createServer } from 'node:net'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type Dockerode from 'dockerode'
import { LABEL, buildComposeStack, renderComposeYaml } from '../core/compose/build-stack.js'
import { composeCommand, type ComposeFlavour } from '../core/compose/cli-args.js'
import { interpolatedValues } from '../core/compose/interpolation.js'
import { parseDotEnv } from '../core/dotenv.js'
import { EXTRA_LABELS_FILE, OVERRIDE_FILES, extraLabelsYaml, readOverride } from '../core/compose/override.js'
import { toBaseImage, type Workspace } from '../core/workspace/model.js'
import { UserError } from '../errors.js'
import { writeFileAtomic } from '../io/fs.js'
import { writeObservabilityFiles } from '../io/observability.js'
import { demuxBuffer } from './log-frames.js'
import { clearAppliedStamp, composeConfigHash, readAppliedStamp, writeAppliedStamp } from './applied-stamp.js'
import { containerHealth, currentContainers, serviceHealth, type HealthVerdict } from '../core/health.js'
import { assertEngine, toEngineError } from '../io/docker.js'
import { detectComposeFlavour, run } from '../io/exec.js'
import { buildServiceImage, bundleService, hashSharedInputs } from './build.js'
import type { BuildOutcome, ContainerStatus, LogOptions, PhaseEvent, Runtime } from './runtime.js'

export const COMPOSE_FILE = 'docker-compose.yml'

/**
 * Writes docker-compose.yml atomically (temp file + rename), after the configuration files of the
 * observability backends it mounts (.msvc/observability).
 */
export async function writeComposeFile(root: string, ws: Workspace): Promise<string> {
  const file = join(root, COMPOSE_FILE)
  await writeObservabilityFiles(root, ws)
  await writeFileAtomic(file, renderComposeYaml(buildComposeStack(ws)))
  return file
}

type ContainerInfo = Dockerode.ContainerInfo

/** The Docker runtime: images through the engine API, the stack through compose, state by label. */
export class DockerRuntime implements Runtime {
  private overlayRead?: Promise<Overlay>

  private constructor(
    private readonly d: Dockerode,
    private readonly root: string,
    private readonly ws: Workspace,
    private flavour?: ComposeFlavour,
  ) {}

  static async connect(root: string, ws: Workspace): Promise<DockerRuntime> {
    return new DockerRuntime(await assertEngine(), root, ws)
  }

  /** Containers of this workspace only, found by label (never by name). */
  async containers(service?: string): Promise<ContainerInfo[]> {
    const label = [`${LABEL.workspace}=${this.ws.name}`]
    if (service) label.push(`${LABEL.service}=${service}`)
    try {
      return await this.d.listContainers({ all: true, filters: { label } })
    } catch (e) {
      throw toEngineError(e)
    }
  }

  async build(services: string[], onEvent: (e: PhaseEvent) => void): Promise<BuildOutcome[]> {
    const outcomes: BuildOutcome[] = []
    const shared = await hashSharedInputs(this.root)
    for (const service of services) {
      if (!this.ws.services[service]) continue
      onEvent({ service, phase: 'building' })
      try {
        const t0 = performance.now()
        const bundled = await bundleService(this.root, service, shared)
        const t1 = performance.now()
        const imageBuilt = await buildServiceImage(
          this.d,
          this.root,
          this.ws.name,
          service,
          toBaseImage(this.ws, service),
        )
        const t2 = performance.now()
        outcomes.push({ service, bundled, imageBuilt, ms: { bundle: t1 - t0, image: t2 - t1 } })
        onEvent({ service, phase: bundled || imageBuilt ? 'built' : 'cached' })
      } catch (e) {
        onEvent({ service, phase: 'failed', detail: (e as Error).message })
        throw e
      }
    }
    return outcomes
  }

  /**
   * The user's docker-compose.override.yml, read once: the files compose gets after the generated
   * one (the override, then msvc's labels for the services only it declares), those services, and
   * its text (part of what `up` compares to know whether anything changed).
   */
  private overlay(): Promise<Overlay> {
    return (this.overlayRead ??= readOverlay(this.root, this.ws))
  }

  async extraServices(): Promise<string[]> {
    return (await this.overlay()).extra
  }

  private async composeFiles(file: string): Promise<string[]> {
    return [file, ...(await this.overlay()).files]
  }

  private async compose(): Promise<ComposeFlavour> {
    this.flavour ??= (await detectComposeFlavour()).flavour
    return this.flavour
  }

  /**
   * Starts the stack with compose. With `unlessApplied` (nothing was rebuilt), compose is not run at
   * all when this very compose file was applied last time and every selected service already has
   * its containers running on its current image: `compose up -d` would change nothing, and costs a
   * compose start (~0.4 s for v1). Returns whether compose ran.
   */
  async up(services: string[], opts: { unlessApplied?: boolean } = {}): Promise<boolean> {
    const yaml = renderComposeYaml(buildComposeStack(this.ws))
    const overlay = await this.overlay()
    const dotenv = parseDotEnv(await readFile(join(this.root, '.env'), 'utf8').catch(() => ''))
    const hash = composeConfigHash(
      yaml,
      overlay.text,
      interpolatedValues([yaml, overlay.text], process.env, dotenv),
    )
    if (opts.unlessApplied && (await this.isApplied(hash, yaml, services))) return false
    const file = await writeComposeFile(this.root, this.ws)
    await this.checkPorts(services)
    const { command, args } = composeCommand(
      await this.compose(),
      { files: await this.composeFiles(file), project: this.ws.name },
      { kind: 'up', services },
    )
    await clearAppliedStamp(this.root)
    const r = await run(command, args, { cwd: this.root })
    if (r.exitCode !== 0)
      throw new UserError(
        `${command} up failed:\n${r.output.trim()}`,
        'see the message above; `msvc doctor` checks the setup',
      )
    await writeAppliedStamp(this.root, hash)
    return true
  }

  /**
   * The compose file on disk (and the override) are the ones last applied, every selected service
   * runs its current image, and each service the override adds has a running container (they start
   * with every `up`).
   */
  private async isApplied(hash: string, yaml: string, services: string[]): Promise<boolean> {
    if ((await readAppliedStamp(this.root)) !== hash) return false
    const onDisk = await readFile(join(this.root, COMPOSE_FILE), 'utf8').catch(() => '')
    if (onDisk !== yaml) return false
    const stack = buildComposeStack(this.ws)
    const extra = await this.extraServices()
    const wanted = (services.length ? services : Object.keys(stack.services)).filter(
      (n) => !extra.includes(n),
    )
    const running = await this.containers()
    for (const name of extra)
      if (!running.some((c) => c.Labels?.[LABEL.service] === name && c.State === 'running')) return false
    for (const name of wanted) {
      const svc = stack.services[name]
      if (!svc) return false
      const image = await this.d
        .getImage(svc.image)
        .inspect()
        .catch(() => undefined)
      const mine = running.filter((c) => c.Labels?.[LABEL.service] === name)
      const replicas = svc.deploy?.replicas ?? 1
      if (!image || mine.length !== replicas) return false
      if (!mine.every((c) => c.State === 'running' && c.ImageID === image.Id)) return false
    }
    return true
  }

  /** A host port another process holds is named with the service that wanted it, before anything starts. */
  async checkPorts(services: string[]): Promise<void> {
    const ours = new Set<number>()
    for (const c of await this.containers())
      for (const p of c.Ports ?? []) if (p.PublicPort) ours.add(p.PublicPort)
    const stack = buildComposeStack(this.ws)
    for (const name of services) {
      for (const spec of stack.services[name]?.ports ?? []) {
        const port = Number(spec.split(':')[1])
        if (ours.has(port)) continue
        if (!(await isPortFree(port)))
          throw new UserError(
            `port ${port} wanted by ${name} is already in use on 127.0.0.1`,
            `stop what holds it (ss -ltnp 'sport = :${port}'), or change ${name}'s port in msvc.yaml`,
          )
      }
    }
  }

  async waitHealthy(
    services: string[],
    opts: { timeoutMs: number; onEvent: (e: PhaseEvent) => void },
  ): Promise<void> {
    const began = Date.now()
    const deadline = began + opts.timeoutMs
    const pending = new Set(services)
    const reported = new Map<string, string>()
    // restarts counted from this wait on: a container that compose kept (not recreated) may carry
    // restarts from before, a chaos kill's say, and is judged by what it does now
    const restartsBefore = new Map<string, number>()
    const emit = (e: PhaseEvent) => {
      if (reported.get(e.service) === e.phase) return
      reported.set(e.service, e.phase)
      opts.onEvent(e)
    }
    for (;;) {
      for (const service of [...pending]) {
        const verdict = await this.healthOf(service, { began, restartsBefore })
        if (verdict.phase === 'healthy') {
          pending.delete(service)
          emit({ service, phase: 'healthy' })
        } else if (verdict.phase === 'failed' || verdict.phase === 'unhealthy') {
          emit({ service, phase: verdict.phase, ...(verdict.detail ? { detail: verdict.detail } : {}) })
          throw await this.failure(service, verdict.detail ?? verdict.phase)
        } else emit({ service, phase: 'starting' })
      }
      if (pending.size === 0) return
      if (Date.now() > deadline) {
        const [service] = pending
        throw await this.failure(service!, `not healthy within ${Math.round(opts.timeoutMs / 1000)} s`)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  /**
   * A service's health now. With `since`, a container created before `since.began` has its
   * restarts counted from the first time this wait saw it (kept in `since.restartsBefore`).
   */
  private async healthOf(
    service: string,
    since?: { began: number; restartsBefore: Map<string, number> },
  ): Promise<HealthVerdict> {
    const infos = await this.containers(service)
    if (infos.length === 0) return { phase: 'starting' }
    const expected = service === 'nats' ? 1 : Math.max(1, this.ws.services[service]?.replicas ?? 1)
    const verdicts: HealthVerdict[] = []
    for (const info of currentContainers(infos, expected)) {
      const c = await this.d.getContainer(info.Id).inspect()
      let restarts = c.RestartCount
      if (since && info.Created * 1000 < since.began) {
        const before = since.restartsBefore.get(info.Id) ?? restarts
        since.restartsBefore.set(info.Id, before)
        restarts -= before
      }
      verdicts.push(containerHealth(c.State, restarts))
    }
    return serviceHealth(verdicts, expected)
  }

  private async failure(service: string, why: string): Promise<UserError> {
    const logs = await this.tail(service, 20).catch(() => '')
    const health = await this.lastHealthOutput(service)
    return new UserError(
      `${service} did not become healthy: ${why}` +
        (health ? `\n  last health check: ${health}` : '') +
        (logs ? `\n  last log lines of ${service}:\n${indent(logs, '    ')}` : ''),
      `msvc logs ${service} shows more; msvc down stops the stack`,
    )
  }

  private async lastHealthOutput(service: string): Promise<string> {
    for (const info of await this.containers(service)) {
      const c = await this.d.getContainer(info.Id).inspect()
      const last = c.State.Health?.Log?.at(-1)
      if (last) return `exit ${last.ExitCode}${last.Output.trim() ? `: ${last.Output.trim()}` : ''}`
    }
    return ''
  }

  async ps(): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = []
    for (const info of await this.containers()) {
      const c = await this.d.getContainer(info.Id).inspect()
      const started = c.State.Running && c.State.StartedAt ? Date.parse(c.State.StartedAt) : undefined
      out.push({
        service: info.Labels[LABEL.service] ?? '?',
        id: info.Id.slice(0, 12),
        name: (info.Names[0] ?? '').replace(/^\//, ''),
        state: c.State.Status,
        health: c.State.Health?.Status ?? 'none',
        restarts: c.RestartCount,
        ports: (info.Ports ?? [])
          .filter((p) => p.PublicPort)
          .map((p) => `${p.IP}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`)
          .sort(),
        ...(c.State.StartedAt ? { startedAt: c.State.StartedAt } : {}),
        ...(started !== undefined
          ? { uptimeSeconds: Math.max(0, Math.round((Date.now() - started) / 1000)) }
          : {}),
      })
    }
    return out.sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name))
  }

  async down(opts: { volumes: boolean }): Promise<{ removed: string[]; volumes?: string[] }> {
    const before = await this.containers()
    const file = await writeComposeFile(this.root, this.ws)
    const { command, args } = composeCommand(
      await this.compose(),
      { files: await this.composeFiles(file), project: this.ws.name },
      { kind: 'down', volumes: opts.volumes },
    )
    const r = await run(command, args, { cwd: this.root })
    // Whatever compose did not remove but carries our label goes too (an older compose file,
    // a container started by hand with our labels). Only our label is ever matched.
    for (const c of await this.containers())
      await this.d
        .getContainer(c.Id)
        .remove({ force: true, v: opts.volumes })
        .catch(() => {})
    const left = await this.containers()
    if (left.length > 0)
      throw new UserError(
        `could not remove ${left.length} container(s) of ${this.ws.name}`,
        r.output.trim().split('\n').at(-1) ?? 'see docker ps',
      )
    const removed = before.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''))
    return opts.volumes ? { removed, volumes: await this.removeVolumes() } : { removed }
  }

  /**
   * Removes the volumes labelled with this workspace (compose's own `down -v` took those it
   * declares; this also takes older ones). A volume another container still uses cannot go: that is
   * an error naming it, never a silent leftover.
   */
  private async removeVolumes(): Promise<string[]> {
    const mine = async () =>
      (await this.d.listVolumes({ filters: { label: [`${LABEL.workspace}=${this.ws.name}`] } })).Volumes ?? []
    const names = (await mine()).map((v) => v.Name)
    const failures = new Map<string, string>()
    for (const name of names)
      await this.d
        .getVolume(name)
        .remove()
        .catch((e: unknown) => failures.set(name, (e as Error).message))
    const left = (await mine()).map((v) => v.Name)
    if (left.length)
      throw new UserError(
        `could not remove volume ${left.join(', ')} of ${this.ws.name}: ${failures.get(left[0]!) ?? 'it is still there'}`,
        `docker ps -a --filter volume=${left[0]} shows the container that uses it; remove that, then run msvc down --volumes again`,
      )
    return names
  }

  async restart(service: string): Promise<void> {
    const infos = await this.containers(service)
    if (infos.length === 0)
      throw new UserError(`${service} has no container; is the stack up?`, 'run msvc up first')
    await Promise.all(infos.map((c) => this.d.getContainer(c.Id).restart({ t: 15 })))
  }

  async tail(service: string, lines: number): Promise<string> {
    const out: string[] = []
    for (const info of await this.containers(service)) {
      const buf = (await this.d
        .getContainer(info.Id)
        .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer
      out.push(demuxBuffer(buf))
    }
    return out.join('\n').trimEnd()
  }

  async logs(
    services: string[],
    opts: LogOptions,
    write: (service: string, line: string) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const wanted = new Set(services)
    const infos = (await this.containers()).filter(
      (c) => wanted.size === 0 || wanted.has(c.Labels[LABEL.service] ?? ''),
    )
    if (infos.length === 0)
      throw new UserError('no containers of this workspace are running', 'run msvc up first')
    await Promise.all(
      infos.map(async (info) => {
        const service = info.Labels[LABEL.service] ?? '?'
        const container = this.d.getContainer(info.Id)
        const base = {
          stdout: true,
          stderr: true,
          ...(opts.since !== undefined ? { since: opts.since } : {}),
          ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
        }
        if (!opts.follow) {
          const buf = (await container.logs({ ...base, follow: false })) as unknown as Buffer
          for (const line of demuxBuffer(buf).split('\n')) if (line) write(service, line)
          return
        }
        const stream = (await container.logs({ ...base, follow: true })) as NodeJS.ReadableStream & {
          destroy(): void
        }
        const sink = new PassThrough()
        this.d.modem.demuxStream(stream, sink, sink)
        let rest = ''
        sink.on('data', (chunk: Buffer) => {
          const text = rest + chunk.toString()
          const lines = text.split('\n')
          rest = lines.pop() ?? ''
          for (const line of lines) write(service, line)
        })
        await new Promise<void>((resolve) => {
          stream.on('end', resolve)
          signal?.addEventListener('abort', () => {
            stream.destroy()
            resolve()
          })
        })
      }),
    )
  }
}

export interface Overlay {
  files: string[]
  extra: string[]
  text: string
}

/** Reads the override, if there is one, and writes the labels file for the services it adds. */
export async function readOverlay(root: string, ws: Workspace): Promise<Overlay> {
  const found: { name: string; text: string }[] = []
  for (const name of OVERRIDE_FILES) {
    const text = await readFile(join(root, name), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined
      throw new UserError(`cannot read ${name}: ${e.message}`, 'check its permissions')
    })
    if (text !== undefined) found.push({ name, text })
  }
  const labels = join(root, EXTRA_LABELS_FILE)
  if (found.length === 0) {
    await rm(labels, { force: true })
    return { files: [], extra: [], text: '' }
  }
  if (found.length > 1)
    throw new UserError(
      `both ${found.map((f) => f.name).join(' and ')} exist`,
      'keep one of them: compose would read only one',
    )
  const [{ name, text }] = found as [{ name: string; text: string }]
  const { extra } = readOverride(name, text, Object.keys(buildComposeStack(ws).services))
  if (extra.length === 0) {
    await rm(labels, { force: true })
    return { files: [join(root, name)], extra, text }
  }
  await writeFileAtomic(labels, extraLabelsYaml(ws.name, extra))
  return { files: [join(root, name), labels], extra, text }
}

const indent = (text: string, pad: string) =>
  text
    .split('\n')
    .map((l) => pad + l)
    .join('\n')

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}
