// One upstream service as the gateway sees it: its replicas found through DNS, a connection pool
// for each, a balancer over them, their health checked, and the upstream's breaker and retry budget.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import type { Registry } from 'prom-client'
import { Pool } from 'undici'
import type { Logger } from '../logger.js'
import { Balancer, type BalancePolicy, type InstanceState } from '../resilience/balancer.js'
import { CircuitBreaker } from '../resilience/breaker.js'
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js'

/**
 * Finds the replicas of a host: IP addresses (the target's port is added), or `host:port` /
 * `[ipv6]:port` pairs, for replicas that each have their own port (tests, a static list).
 */
export type Resolver = (host: string) => Promise<string[]>

/** Every address the system resolver knows for the host (Docker's DNS: one per replica). */
export const dnsResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address)

export interface UpstreamOptions {
  /** the upstream's name: metric label, breaker target, in logs */
  name: string
  /** `http://host:port`; the host is resolved to its replicas */
  target: string
  resolve?: Resolver
  balance?: BalancePolicy
  /** passive ejection, see Balancer (defaults: after 3 failures in a row, for 5 s, at most 60 s) */
  eject?: { after?: number; ms?: number; maxMs?: number }
  /** see CircuitBreaker (defaults: opens after 5 failed requests in a row, for 5 s, one trial) */
  breaker?: { failureThreshold?: number; openMs?: number; halfOpenMaxCalls?: number }
  /** which errors count against the breaker (default: all) */
  isFailure?: (error: unknown) => boolean
  retryBudget?: Omit<RetryBudgetOptions, 'now'>
  /** how often the host is resolved again (default 5 s) */
  resolveIntervalMs?: number
  /** how often each replica's readiness is checked (default 5 s) */
  healthIntervalMs?: number
  /** how long a readiness check may take (default 1 s) */
  healthTimeoutMs?: number
  /** breaker state metrics go here (default: none) */
  registry?: Registry
  /** instance changes, ejections, readiness and breaker changes (default: logs nothing) */
  logger?: Logger
  /** called at each ejection of a replica */
  onEject?: (address: string) => void
  /** the clock of re-resolution's debounce, in ms (tests pass a fake one) */
  now?: () => number
}

/** A replica picked for one attempt: its pool, and done() to call once the attempt is over. */
export interface Picked {
  address: string
  pool: Pool
  done(ok: boolean): void
}

/** The path each replica answers its readiness on (the kit's createHttpServer serves it). */
const READY_PATH = '/health/ready'
/** Re-resolution after a connection error happens at most this often. */
const RESOLVE_DEBOUNCE_MS = 1000
/** How long closing a pool waits for its requests before cutting them. */
const POOL_CLOSE_GRACE_MS = 2000

/** Error codes of a failed connection to a replica (Node's and undici's): the request may not have reached it. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
])

/** Whether a pool's request failed on its connection (then call Upstream.connectionFailed()). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)
}

/**
 * An upstream: replicas, pools, balancer, health checks, breaker and retry budget. Each replica
 * gets its own undici Pool (keep-alive connections to that replica only), so that the balancer
 * chooses the replica of every request: with one pool for the service name, keep-alive would pin
 * each connection, and so most traffic, to whichever replica it first reached.
 */
export class Upstream {
  readonly name: string
  /** `host:port` of the target: the Host header the replicas get */
  readonly authority: string
  readonly breaker: CircuitBreaker
  readonly budget: RetryBudget
  private readonly host: string
  private readonly port: number
  private readonly balancer: Balancer
  private readonly resolve: Resolver
  private readonly pools = new Map<string, Pool>()
  private readonly timers: NodeJS.Timeout[] = []
  private resolving: Promise<void> | undefined
  private lastResolveAt = -Infinity
  private checking = false
  private closed = false
  private readonly now: () => number
  private readonly logger: Logger

  constructor(private readonly opts: UpstreamOptions) {
    this.now = opts.now ?? Date.now
    this.logger = opts.logger ?? pino({ level: 'silent' }, { write: () => undefined })
    const target = parseTarget(opts.target)
    this.name = opts.name
    this.host = target.host
    this.port = target.port
    this.authority = target.authority
    this.resolve = opts.resolve ?? dnsResolver
    this.balancer = new Balancer([], {
      policy: opts.balance ?? 'least-outstanding',
      ejectAfter: opts.eject?.after,
      ejectMs: opts.eject?.ms,
      maxEjectMs: opts.eject?.maxMs,
      onEject: (address, ms) => {
        this.logger.warn({ upstream: this.name, instance: address, ejectMs: ms }, 'upstream instance ejected')
        opts.onEject?.(address)
      },
    })
    this.breaker = new CircuitBreaker({
      target: opts.name,
      failureThreshold: opts.breaker?.failureThreshold ?? 5,
      openMs: opts.breaker?.openMs ?? 5000,
      halfOpenMaxCalls: opts.breaker?.halfOpenMaxCalls ?? 1,
      registry: opts.registry,
      isFailure: opts.isFailure,
      onStateChange: (from, to) =>
        this.logger.warn({ upstream: this.name, from, to }, 'upstream circuit breaker changed state'),
    })
    this.budget = new RetryBudget(opts.retryBudget)
  }

  /** Resolves the replicas and checks them once, then keeps doing both on timers. Never throws. */
  async start(): Promise<void> {
    if (this.closed || this.timers.length > 0) return
    this.timers.push(
      setInterval(() => void this.resolveNow(), this.opts.resolveIntervalMs ?? 5000).unref(),
      setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs ?? 5000).unref(),
    )
    await this.resolveNow()
    await this.checkHealth()
  }

  /** A replica for one attempt, avoiding those a retry already failed on; undefined when there is none. */
  pick(avoid?: ReadonlySet<string>): Picked | undefined {
    const lease = this.balancer.pick(avoid)
    if (!lease) return undefined
    return { address: lease.address, pool: this.poolFor(lease.address), done: lease.done }
  }

  /**
   * A connection to a replica failed: the replica may be gone for good (scaled down, moved), so
   * the host is resolved again, at most once a second however many requests fail.
   */
  connectionFailed(): void {
    if (this.now() - this.lastResolveAt >= RESOLVE_DEBOUNCE_MS) void this.resolveNow()
  }

  /**
   * Resolves the host now (joining a resolution under way). Replicas keep their state across
   * resolutions; the pools of those gone are closed. A failed lookup keeps the replicas known:
   * a DNS hiccup should not empty the upstream, and dead replicas are found out by their checks.
   */
  resolveNow(): Promise<void> {
    this.resolving ??= this.resolveOnce().finally(() => {
      this.resolving = undefined
    })
    return this.resolving
  }

  /** Asks every replica for its readiness (skipped while the previous round still runs). */
  async checkHealth(): Promise<void> {
    if (this.checking || this.closed) return
    this.checking = true
    try {
      await Promise.all(this.balancer.snapshot().map((i) => this.checkOne(i)))
    } finally {
      this.checking = false
    }
  }

  /** Every replica's state: outstanding requests, ejected, ready. */
  instances(): InstanceState[] {
    return this.balancer.snapshot()
  }

  /** Whether at least one replica is ready and not ejected. */
  hasUsableInstance(): boolean {
    return this.instances().some((i) => i.ready && !i.ejected)
  }

  /** Stops the timers and closes every pool (cutting what is still running after a grace period). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const timer of this.timers) clearInterval(timer)
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map(closePool))
  }

  private async resolveOnce(): Promise<void> {
    this.lastResolveAt = this.now()
    let found: string[]
    try {
      found = await this.resolve(this.host)
    } catch (e) {
      this.logger.warn(
        { upstream: this.name, host: this.host, err: (e as Error).message },
        'upstream host could not be resolved; keeping the instances known',
      )
      return
    }
    if (this.closed) return
    const addresses = [...new Set(found.map((a) => toAddress(a, this.port)).filter((a) => a !== undefined))]
    const before = this.instances().map((i) => i.address)
    this.balancer.setAddresses(addresses)
    for (const [address, pool] of this.pools)
      if (!addresses.includes(address)) {
        this.pools.delete(address)
        void closePool(pool)
      }
    if (before.join() !== addresses.join())
      this.logger.info({ upstream: this.name, instances: addresses }, 'upstream instances changed')
  }

  private async checkOne(instance: InstanceState): Promise<void> {
    const ready = await this.isReady(instance.address)
    if (this.closed) return
    this.balancer.setReady(instance.address, ready)
    if (ready !== instance.ready)
      this.logger.warn(
        { upstream: this.name, instance: instance.address, ready },
        ready ? 'upstream instance ready again' : 'upstream instance not ready',
      )
  }

  private async isReady(address: string): Promise<boolean> {
    const timeoutMs = this.opts.healthTimeoutMs ?? 1000
    try {
      const res = await this.poolFor(address).request({
        method: 'GET',
        path: READY_PATH,
        headers: { host: this.authority },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      })
      await res.body.dump()
      return res.statusCode >= 200 && res.statusCode < 300
    } catch {
      return false
    }
  }

  private poolFor(address: string): Pool {
    let pool = this.pools.get(address)
    if (!pool) {
      pool = new Pool(`http://${address}`)
      this.pools.set(address, pool)
    }
    return pool
  }
}

/** Closes a pool, letting its requests finish for a while, then cutting them. */
async function closePool(pool: Pool): Promise<void> {
  await Promise.race([
    pool.close().catch(() => undefined),
    sleep(POOL_CLOSE_GRACE_MS, undefined, { ref: false }),
  ])
  await pool.destroy().catch(() => undefined)
}

/** The parts of an upstream target, `http://host:port`. Throws on anything else. */
export function parseTarget(target: string): { host: string; port: number; authority: string } {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new Error(`upstream target "${target}" is not a URL like http://order:3001`)
  }
  if (
    url.protocol !== 'http:' ||
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    url.pathname !== '/'
  )
    throw new Error(`upstream target "${target}" must be http://host:port, without a path`)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = url.port === '' ? 80 : Number(url.port)
  return { host, port, authority: url.host }
}

/**
 * A resolved address as `ip:port` (`[ip]:port` for IPv6): an IP gets the target's port, an
 * address with its own port is kept; anything else is dropped (undefined).
 */
export function toAddress(resolved: string, port: number): string | undefined {
  const family = isIP(resolved)
  if (family === 4) return `${resolved}:${port}`
  if (family === 6) return `[${resolved}]:${port}`
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(resolved)
  if (!m || Number(m[3]) > 65535) return undefined
  if (m[1] !== undefined && isIP(m[1]) !== 6) return undefined
  return resolved
}
