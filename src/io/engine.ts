import { request, type RequestOptions } from 'node:http'
import type Dockerode from 'dockerode'
import { answering } from './docker.js'

/**
 * The part of the Docker engine API that chaos uses: find containers by label, inspect them,
 * signal, pause, stop, restart them, and run a helper container beside one.
 *
 * Why not dockerode here: a fault must take effect within 250 ms of `msvc chaos <fault>`, and
 * loading dockerode costs 100-160 ms on this machine (it brings ssh2 and, for build sessions,
 * @grpc/grpc-js with protobufjs: about 40 CommonJS packages), measured with `node -e` and
 * --cpu-prof (docs/architecture.md, Chaos). These few calls are plain HTTP/1.1 requests over the
 * engine's socket, which node:http makes in well under a millisecond of load time. dockerode is
 * still what the runtime uses (image builds, compose, logs), and what this falls back to when the
 * engine is reached over TLS or SSH (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, ssh://).
 *
 * Dockerode satisfies these interfaces too, so code written against them takes either.
 */
export interface EngineContainer {
  inspect(): Promise<Dockerode.ContainerInspectInfo>
  kill(o?: { signal?: string }): Promise<unknown>
  pause(): Promise<unknown>
  unpause(): Promise<unknown>
  start(): Promise<unknown>
  stop(o?: { t?: number }): Promise<unknown>
  restart(o?: { t?: number }): Promise<unknown>
  remove(o?: { force?: boolean; v?: boolean }): Promise<unknown>
  /** resolves once the container has stopped */
  wait(): Promise<unknown>
  logs(o: { stdout: true; stderr: true; tail: number; follow?: false }): Promise<Buffer>
}

export interface Engine {
  ping(): Promise<unknown>
  listContainers(o: { all?: boolean; filters?: Record<string, string[]> }): Promise<Dockerode.ContainerInfo[]>
  getContainer(id: string): EngineContainer
}

/** An error from the engine: statusCode as dockerode sets it, so callers can tell 404 and 304. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message)
    this.name = 'EngineError'
  }
}

/** Where the engine listens, from DOCKER_HOST; undefined when only dockerode can reach it. */
export function engineAddress(
  env: NodeJS.ProcessEnv,
): { socketPath: string } | { host: string; port: number } | undefined {
  if (env.DOCKER_TLS_VERIFY || env.DOCKER_CERT_PATH) return undefined
  const host = env.DOCKER_HOST
  if (!host) return { socketPath: '/var/run/docker.sock' }
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) }
  const tcp = /^(?:tcp|http):\/\/\[?([^\]/]+?)\]?:(\d+)\/?$/.exec(host)
  if (tcp) return { host: tcp[1]!, port: Number(tcp[2]) }
  return undefined
}

class HttpEngine implements Engine {
  constructor(private readonly where: { socketPath: string } | { host: string; port: number }) {}

  /** One call; a JSON answer is parsed, an empty one is undefined, 2xx-3xx ok, else EngineError. */
  call<T>(method: string, path: string, body?: unknown, raw = false): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const opts: RequestOptions = {
      ...this.where,
      method,
      path,
      headers: payload
        ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
        : {},
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(opts, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const buf = Buffer.concat(chunks)
          const status = res.statusCode ?? 0
          if (status >= 400) {
            let message = buf.toString('utf8').trim()
            try {
              message = (JSON.parse(message) as { message?: string }).message ?? message
            } catch {
              // not JSON: keep the text
            }
            return reject(new EngineError(`(HTTP code ${status}) ${message}`, status))
          }
          if (raw) return resolve(buf as T)
          const text = buf.toString('utf8')
          const json = (res.headers['content-type'] ?? '').includes('json')
          resolve((json && text ? JSON.parse(text) : text || undefined) as T)
        })
      })
      req.on('error', reject)
      req.end(payload)
    })
  }

  ping(): Promise<unknown> {
    return this.call('GET', '/_ping')
  }

  listContainers(o: {
    all?: boolean
    filters?: Record<string, string[]>
  }): Promise<Dockerode.ContainerInfo[]> {
    const q = new URLSearchParams()
    if (o.all) q.set('all', 'true')
    if (o.filters) q.set('filters', JSON.stringify(o.filters))
    return this.call('GET', `/containers/json?${q}`)
  }

  getContainer(id: string): EngineContainer {
    const c = `/containers/${encodeURIComponent(id)}`
    const post = (what: string, q: Record<string, string | number | boolean | undefined> = {}) => {
      const qs = new URLSearchParams()
      for (const [k, v] of Object.entries(q)) if (v !== undefined) qs.set(k, String(v))
      const s = qs.toString()
      return this.call('POST', `${c}/${what}${s ? `?${s}` : ''}`)
    }
    return {
      inspect: () => this.call('GET', `${c}/json`),
      kill: (o = {}) => post('kill', { signal: o.signal }),
      pause: () => post('pause'),
      unpause: () => post('unpause'),
      start: () => post('start'),
      stop: (o = {}) => post('stop', { t: o.t }),
      restart: (o = {}) => post('restart', { t: o.t }),
      remove: (o = {}) => this.call('DELETE', `${c}?force=${o.force === true}&v=${o.v === true}`),
      wait: () => post('wait'),
      logs: (o) => this.call<Buffer>('GET', `${c}/logs?stdout=1&stderr=1&tail=${o.tail}`, undefined, true),
    }
  }
}

let client: Engine | undefined

/** The engine client for chaos: the light one over the socket, or dockerode where only it can reach. */
export async function engine(env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  if (!client) {
    const where = engineAddress(env)
    if (where) client = new HttpEngine(where)
    else {
      const { docker } = await import('./docker.js')
      client = await docker()
    }
  }
  return client
}

/** The engine client, once the engine answers; a one-line fix when it does not. */
export const connectEngine = async (): Promise<Engine> => answering(await engine())
