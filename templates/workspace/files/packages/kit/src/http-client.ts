import type { Registry } from 'prom-client'
import { UnavailableError } from './errors.js'
import { BreakerOpenError, CircuitBreaker, type BreakerState } from './resilience/breaker.js'
import { Bulkhead, BulkheadFullError } from './resilience/bulkhead.js'
import { retry } from './resilience/retry.js'
import { TimeoutError, withTimeout } from './resilience/timeout.js'

export interface ServiceClientOptions {
  /** the service called; names the breaker and appears in errors */
  target: string
  baseUrl: string
  timeoutMs?: number
  maxAttempts?: number
  breaker?: { failureThreshold?: number; openMs?: number; halfOpenMaxCalls?: number }
  maxConcurrent?: number
  maxQueue?: number
  registry?: Registry
  fetch?: typeof fetch
}

export interface CallOptions {
  body?: unknown
  requestId?: string
  /** W3C traceparent to pass on */
  traceparent?: string
  /** retried on failure only when true; GET, HEAD, PUT and DELETE are idempotent by default */
  idempotent?: boolean
  timeoutMs?: number
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

/**
 * HTTP calls to another service of the workspace with the kit's resilience: a deadline on every
 * call, retries with backoff and full jitter for idempotent calls only, one circuit breaker per
 * target, a bulkhead, and the request id and trace context passed on.
 */
export class ServiceClient {
  readonly breaker: CircuitBreaker
  private readonly bulkhead: Bulkhead
  private readonly fetch: typeof fetch

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
    this.fetch = opts.fetch ?? fetch
  }

  get breakerState(): BreakerState {
    return this.breaker.state
  }

  async call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<ServiceResponse<T>> {
    const idempotent = opts.idempotent ?? IDEMPOTENT.has(method.toUpperCase())
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 2000
    const once = () =>
      this.breaker.call(() =>
        this.bulkhead.run(() =>
          withTimeout(async (signal) => {
            const headers: Record<string, string> = { accept: 'application/json' }
            if (opts.body !== undefined) headers['content-type'] = 'application/json'
            if (opts.requestId) headers['x-request-id'] = opts.requestId
            if (opts.traceparent) headers.traceparent = opts.traceparent
            const res = await this.fetch(new URL(path, this.opts.baseUrl), {
              method,
              headers,
              signal,
              ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
            })
            const text = await res.text()
            if (res.status >= 500) throw new UpstreamError(this.opts.target, res.status)
            return { status: res.status, body: (text ? safeJson(text) : undefined) as T }
          }, timeoutMs),
        ),
      )
    try {
      return await retry(once, {
        maxAttempts: idempotent ? (this.opts.maxAttempts ?? 3) : 1,
        baseDelayMs: 50,
        maxDelayMs: 1000,
        isRetryable: (e) => !(e instanceof BreakerOpenError) && !(e instanceof BulkheadFullError),
      })
    } catch (e) {
      if (
        e instanceof BreakerOpenError ||
        e instanceof BulkheadFullError ||
        e instanceof TimeoutError ||
        e instanceof UpstreamError
      )
        throw new UnavailableError(`${this.opts.target} is unavailable: ${e.message}`, { cause: e })
      throw new UnavailableError(`${this.opts.target} is unreachable: ${(e as Error).message}`, { cause: e })
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
