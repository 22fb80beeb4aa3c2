import { context, SpanKind, trace, type Span } from '@opentelemetry/api'
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
} from '@opentelemetry/semantic-conventions'
import type { Registry } from 'prom-client'
import type { Dispatcher } from 'undici'
import { markNotSent, UnavailableError } from './errors.js'
import type * as UpstreamModule from './gateway/upstream.js'
import type { Resolver, Upstream } from './gateway/upstream.js'
import type { Logger } from './logger.js'
import type { BalancePolicy, InstanceState } from './resilience/balancer.js'
import { BreakerOpenError, CircuitBreaker, type BreakerState } from './resilience/breaker.js'
import { Bulkhead, BulkheadFullError } from './resilience/bulkhead.js'
import { retry } from './resilience/retry.js'
import { TimeoutError, withTimeout } from './resilience/timeout.js'
import {
  extractContext,
  injectActiveContext,
  injectContext,
  isTracing,
  isUnsampled,
  kitTracer,
  recordError,
} from './tracing.js'

export type { Resolver } from './gateway/upstream.js'

export interface ServiceClientOptions {
  /** the service called; names the breaker and appears in errors */
  target: string
  /**
   * `http://host:port`, optionally with a path prefix (`http://payment:3002/v1/`); a call's path
   * is resolved against it as `new URL(path, baseUrl)` does. The host is resolved to every
   * replica of the service. https is not supported (but with a custom `fetch`).
   */
  baseUrl: string
  timeoutMs?: number
  maxAttempts?: number
  breaker?: { failureThreshold?: number; openMs?: number; halfOpenMaxCalls?: number }
  maxConcurrent?: number
  maxQueue?: number
  /** circuit_breaker_state{target} and circuit_breaker_transitions_total go here */
  registry?: Registry
  /** replicas found or gone, ejected, not ready (default: logs nothing) */
  logger?: Logger
  /** how the host becomes replica addresses (default: DNS, every address of the host) */
  resolve?: Resolver
  /** how often the host is resolved again (default 5 s; also after a connection error, at most once a second) */
  resolveIntervalMs?: number
  /** how often each replica's /health/ready is checked (default 5 s) */
  healthIntervalMs?: number
  /** default least-outstanding */
  balance?: BalancePolicy
  /**
   * sends every call through this instead, to `new URL(path, baseUrl)`, with no replica
   * balancing (tests); the resilience (deadline, retries, breaker, bulkhead) stays
   */
  fetch?: typeof fetch
}

export interface CallOptions {
  body?: unknown
  requestId?: string
  /**
   * W3C traceparent to pass on. With tracing on, the call's own client span is sent instead, a
   * child of the active span (or of this traceparent when no span is active).
   */
  traceparent?: string
  /** retried on failure only when true; GET, HEAD, PUT and DELETE are idempotent by default */
  idempotent?: boolean
  timeoutMs?: number
  /** more headers (an `idempotency-key`); the client's own (accept, content-type, ids) win */
  headers?: Record<string, string>
  /** aborts the call, every attempt and the waits between them (a saga step's own timeout) */
  signal?: AbortSignal
}

export interface ServiceResponse<T = unknown> {
  status: number
  body: T
}

/** A response the dependency failed to give (5xx), counted by the breaker and retried if idempotent. */
export class UpstreamError extends Error {
  override name = 'UpstreamError'
  constructor(
    readonly target: string,
    readonly status: number,
  ) {
    super(`${target} answered ${status}`)
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])

/** What one attempt sends, the same whichever replica gets it. */
interface Outgoing {
  method: string
  /** as the caller gave it (fetch), or resolved against the base URL: path and query (replicas) */
  path: string
  headers: Record<string, string>
  body: string | undefined
}

/** The replicas of the target, and how a failed connection to one of them looks. */
interface Replicas {
  upstream: Upstream
  isConnectionError: (typeof UpstreamModule)['isConnectionError']
}

/**
 * HTTP calls to another service of the workspace with the kit's resilience: a deadline on every
 * call, retries with backoff and full jitter for idempotent calls only, one circuit breaker per
 * target, a bulkhead, and the request id and trace context passed on.
 *
 * Calls are spread over the service's replicas: the host of `baseUrl` is resolved to every
 * replica (again every few seconds, and after a connection error), each replica gets its own
 * keep-alive pool, and each attempt goes to the replica with the fewest calls in flight. A
 * replica that fails 3 attempts in a row, or whose /health/ready fails, is left out until it
 * recovers; a retry goes to another replica. With one connection pool for the host name instead
 * (what `fetch` does), keep-alive would pin most calls to whichever replica a connection reached
 * first. Call close() when done, to stop the re-resolution and health checks and close the pools.
 */
export class ServiceClient {
  readonly breaker: CircuitBreaker
  private readonly bulkhead: Bulkhead
  /** the replicas, when calls are not sent through a custom fetch */
  private readonly replicas: Promise<Replicas> | undefined
  /** `host:port` of baseUrl, the Host header the replicas get */
  private readonly authority: string | undefined
  /** the upstream once loaded, for instances() */
  private upstream: Upstream | undefined
  private started: Promise<Replicas> | undefined
  private closed = false

  constructor(private readonly opts: ServiceClientOptions) {
    this.breaker = new CircuitBreaker({
      target: opts.target,
      failureThreshold: opts.breaker?.failureThreshold ?? 5,
      openMs: opts.breaker?.openMs ?? 5000,
      halfOpenMaxCalls: opts.breaker?.halfOpenMaxCalls ?? 1,
      ...(opts.registry ? { registry: opts.registry } : {}),
      isFailure: (e) => !(e instanceof UpstreamError) || e.status >= 500,
    })
    this.bulkhead = new Bulkhead(opts.maxConcurrent ?? 64, opts.maxQueue ?? 256)
    if (opts.fetch) return
    const origin = originOf(opts.target, opts.baseUrl)
    this.authority = new URL(origin).host
    // Loaded here rather than imported at the top of the file: the Upstream brings undici, which
    // every service importing the kit would otherwise evaluate at start, calls or not (about
    // 1 MB of bundle and 70-120 ms more to start one, measured on Node 20). A static import
    // works the same, only slower to start.
    this.replicas = import('./gateway/upstream.js').then((m) => {
      // No registry: the upstream's own breaker is unused (this client's guards the calls), and
      // registering it would report a second circuit_breaker_state{target} series.
      this.upstream = new m.Upstream({
        name: opts.target,
        target: origin,
        logger: opts.logger,
        resolve: opts.resolve,
        resolveIntervalMs: opts.resolveIntervalMs,
        healthIntervalMs: opts.healthIntervalMs,
        balance: opts.balance,
      })
      return { upstream: this.upstream, isConnectionError: m.isConnectionError }
    })
  }

  get breakerState(): BreakerState {
    return this.breaker.state
  }

  /** Every replica as the balancer sees it (in flight, ejected, ready); empty with a custom fetch. */
  instances(): InstanceState[] {
    return this.upstream?.instances() ?? []
  }

  async call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<ServiceResponse<T>> {
    if (this.closed) throw new UnavailableError(`${this.opts.target} is unavailable: its client is closed`)
    const idempotent = opts.idempotent ?? IDEMPOTENT.has(method.toUpperCase())
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 2000
    opts.signal?.throwIfAborted()
    const headers: Record<string, string> = { ...opts.headers, accept: 'application/json' }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    if (opts.requestId) headers['x-request-id'] = opts.requestId
    let span: Span | undefined
    if (!isTracing()) {
      if (opts.traceparent) headers.traceparent = opts.traceparent
    } else if (isUnsampled()) injectActiveContext(headers)
    else span = this.startSpan(method, opts.traceparent, headers)
    const out: Outgoing = {
      method,
      path: this.authority ? requestTarget(path, this.opts, this.authority) : path,
      headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    }
    // the replicas the attempts of this call failed on, which a retry avoids
    const tried = new Set<string>()
    // whether any attempt got past the breaker and the bulkhead: without one, nothing was sent
    let sent = false
    const once = () =>
      this.breaker.call(() =>
        this.bulkhead.run(() =>
          withTimeout((timeout) => {
            sent = true
            const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout
            return this.replicas ? this.sendToReplica<T>(out, signal, tried) : this.fetchOnce<T>(out, signal)
          }, timeoutMs),
        ),
      )
    try {
      const response = await retry(once, {
        maxAttempts: idempotent ? (this.opts.maxAttempts ?? 3) : 1,
        baseDelayMs: 50,
        maxDelayMs: 1000,
        isRetryable: (e) =>
          !(e instanceof BreakerOpenError) && !(e instanceof BulkheadFullError) && !opts.signal?.aborted,
      })
      span?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status)
      span?.end()
      return response
    } catch (e) {
      if (span) {
        if (e instanceof UpstreamError) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, e.status)
        recordError(span, e)
        span.end()
      }
      if (
        e instanceof BreakerOpenError ||
        e instanceof BulkheadFullError ||
        e instanceof TimeoutError ||
        e instanceof UpstreamError
      ) {
        const error = new UnavailableError(`${this.opts.target} is unavailable: ${e.message}`, { cause: e })
        throw sent ? error : markNotSent(error)
      }
      throw new UnavailableError(`${this.opts.target} is unreachable: ${(e as Error).message}`, { cause: e })
    }
  }

  /**
   * The client span of one call (its retries included: they are one logical call, with one request
   * id), a child of the active span, or of `traceparent` when no span is active; its context goes
   * into `headers` as traceparent (and tracestate).
   */
  private startSpan(method: string, traceparent: string | undefined, headers: Record<string, string>): Span {
    const active = context.active()
    const parent = !otelActiveSpan(active) && traceparent ? extractContext({ traceparent }) : active
    const span = kitTracer().startSpan(
      method.toUpperCase(),
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method.toUpperCase(),
          [ATTR_SERVER_ADDRESS]: this.authority ?? this.opts.target,
          'peer.service': this.opts.target,
        },
      },
      parent,
    )
    injectContext(span, headers, parent)
    return span
  }

  /** Stops re-resolving and health-checking the replicas and closes their connections. */
  async close(): Promise<void> {
    this.closed = true
    await (await this.replicas)?.upstream.close()
  }

  /** One attempt through the custom fetch. */
  private async fetchOnce<T>(out: Outgoing, signal: AbortSignal): Promise<ServiceResponse<T>> {
    const res = await this.opts.fetch!(new URL(out.path, this.opts.baseUrl), {
      method: out.method,
      headers: out.headers,
      signal,
      ...(out.body !== undefined ? { body: out.body } : {}),
    })
    const text = await res.text()
    if (res.status >= 500) throw new UpstreamError(this.opts.target, res.status)
    return { status: res.status, body: (text ? safeJson(text) : undefined) as T }
  }

  /** One attempt on the replica the balancer picks, avoiding those this call already tried. */
  private async sendToReplica<T>(
    out: Outgoing,
    signal: AbortSignal,
    tried: Set<string>,
  ): Promise<ServiceResponse<T>> {
    const { upstream, isConnectionError } = await this.start()
    const picked = upstream.pick(tried)
    if (!picked) {
      upstream.connectionFailed()
      throw new Error(`${upstream.authority} resolves to no address`)
    }
    tried.add(picked.address)
    let status: number
    let text: string
    try {
      const res = await picked.pool.request({
        method: out.method.toUpperCase() as Dispatcher.HttpMethod,
        path: out.path,
        headers: { ...out.headers, host: upstream.authority },
        body: out.body ?? null,
        signal,
      })
      status = res.statusCode
      text = await res.body.text()
    } catch (e) {
      // a late answer counts against the replica too; only a failed connection may mean it is gone
      picked.done(false)
      if (!signal.aborted && isConnectionError(e)) upstream.connectionFailed()
      throw e
    }
    picked.done(status < 500)
    if (status >= 500) throw new UpstreamError(this.opts.target, status)
    return { status, body: (text ? safeJson(text) : undefined) as T }
  }

  /**
   * Starts the upstream on the first call: the first attempt waits for the host's resolution
   * (within its deadline), not for the first round of health checks; later ones wait for nothing.
   */
  private start(): Promise<Replicas> {
    this.started ??= this.replicas!.then(async (replicas) => {
      void replicas.upstream.start()
      await replicas.upstream.resolveNow() // joins the resolution start() began
      return replicas
    })
    return this.started
  }
}

/** The origin of a base URL, which must be plain http (the replicas are resolved from its host). */
function originOf(target: string, baseUrl: string): string {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new Error(`ServiceClient ${target}: baseUrl "${baseUrl}" is not a URL like http://${target}:3000`)
  }
  if (url.protocol !== 'http:' || url.username || url.password)
    throw new Error(
      `ServiceClient ${target}: baseUrl "${baseUrl}" must be http://host:port, optionally with a path prefix (no https, no credentials)`,
    )
  return url.origin
}

/**
 * The path and query of a call, resolved against the base URL as `new URL(path, baseUrl)` does
 * (`http://payment:3002/v1/` and `orders` give `/v1/orders`; `/orders` gives `/orders`). Throws
 * on a path that leads to another host: a mistake in the caller, not an unavailable service.
 */
function requestTarget(path: string, opts: ServiceClientOptions, authority: string): string {
  const url = new URL(path, opts.baseUrl)
  if (url.host !== authority || url.protocol !== 'http:')
    throw new Error(`ServiceClient ${opts.target}: the path "${path}" leads away from ${opts.baseUrl}`)
  return url.pathname + url.search
}

const otelActiveSpan = (ctx: ReturnType<typeof context.active>) => trace.getSpan(ctx)

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
