import {
  credentials as grpcCredentials,
  status,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js'
import { context, SpanKind, trace, type Span } from '@opentelemetry/api'
import type { Registry } from 'prom-client'
import { BreakerOpenError, CircuitBreaker, type BreakerState } from '../resilience/breaker.js'
import { markNotSent } from '../errors.js'
import { retry } from '../resilience/retry.js'
import { currentCallContext, outgoingMetadata } from './context.js'
import { BREAKER_FAILURE_CODES, GrpcCallError, RETRYABLE_CODES } from './status.js'
import {
  extractContext,
  injectActiveContext,
  injectContext,
  isTracing,
  isUnsampled,
  kitTracer,
  recordError,
} from '../tracing.js'

/** What the generator knows about each method: its name on the grpc-js client and whether it may be retried. */
export interface GrpcMethodInfo {
  /** `idempotency_level` is NO_SIDE_EFFECTS or IDEMPOTENT in the .proto */
  idempotent: boolean
}

/** grpc-js's round_robin balancing, as a service config. */
const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] })

/**
 * The channel target of an address: `host:port` through grpc-js's DNS resolver (`dns:///host:port`,
 * which yields every replica's address and resolves again when connections fail); a target with
 * its own scheme (`ipv4:`, `unix:`, `dns:`) as it is.
 */
export function channelTarget(address: string): string {
  return /^[a-z][a-z0-9+.-]*:(?!\d+$)/i.test(address) ? address : `dns:///${address}`
}

export interface GrpcClientOptions {
  /** `host:port` of the service (every replica behind the name is used), or a grpc-js target URI */
  address: string
  /** names the breaker (the `target` label of circuit_breaker_state) and appears in errors; default: address */
  target?: string
  /** deadline of each attempt, in ms (default 2000); a call may override it */
  deadlineMs?: number
  /** attempts in all for idempotent methods (default 3); other methods get exactly one */
  maxAttempts?: number
  /** backoff before the first retry (default 50 ms, doubling, full jitter) and its cap (default 1000 ms) */
  backoff?: { baseDelayMs?: number; maxDelayMs?: number }
  breaker?: { failureThreshold?: number; openMs?: number; halfOpenMaxCalls?: number }
  /** circuit_breaker_state{target} and transitions are registered here (the service's /metrics) */
  registry?: Registry
  credentials?: ChannelCredentials
  channelOptions?: Partial<ClientOptions>
}

/** Per call: a deadline other than the client's, and context to pass on (by default the current call's). */
export interface GrpcCallOptions {
  deadlineMs?: number
  requestId?: string
  traceparent?: string
  tracestate?: string
  /** more metadata to send */
  metadata?: Record<string, string>
}

/** A message with every field optional, nested ones too: what a typed method accepts. */
export type PartialMessage<T> = T extends Uint8Array | string | number | boolean | bigint | undefined | null
  ? T
  : T extends readonly (infer U)[]
    ? PartialMessage<U>[]
    : T extends object
      ? { [K in keyof T]?: PartialMessage<T[K]> }
      : T

type UnaryMethod = (
  request: unknown,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: unknown) => void,
) => unknown

/**
 * The resilience every generated client applies: a deadline on every attempt, retries with
 * exponential backoff and full jitter only for UNAVAILABLE and DEADLINE_EXCEEDED and only on
 * idempotent methods, one circuit breaker per target (fed by UNAVAILABLE, DEADLINE_EXCEEDED,
 * INTERNAL, UNKNOWN and RESOURCE_EXHAUSTED; an open breaker fails at once with UNAVAILABLE), and
 * the request id and W3C trace context in metadata.
 */
export class ResilientGrpcClient {
  readonly breaker: CircuitBreaker
  readonly target: string
  private readonly client: Client
  private readonly deadlineMs: number
  private readonly maxAttempts: number
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  /** calls in flight, so that close() can cancel them */
  private readonly active = new Set<{ cancel(): void }>()
  private closed = false

  constructor(
    ClientCtor: new (address: string, creds: ChannelCredentials, options?: Partial<ClientOptions>) => Client,
    private readonly methods: Readonly<Record<string, GrpcMethodInfo>>,
    opts: GrpcClientOptions,
  ) {
    this.target = opts.target ?? opts.address
    this.client = new ClientCtor(
      channelTarget(opts.address),
      opts.credentials ?? grpcCredentials.createInsecure(),
      {
        // every replica the name resolves to, in turn; grpc-js's default (pick_first) would send every
        // call down the one connection it made first
        'grpc.service_config': ROUND_ROBIN,
        ...opts.channelOptions,
      },
    )
    this.deadlineMs = opts.deadlineMs ?? 2000
    this.maxAttempts = opts.maxAttempts ?? 3
    this.baseDelayMs = opts.backoff?.baseDelayMs ?? 50
    this.maxDelayMs = opts.backoff?.maxDelayMs ?? 1000
    this.breaker = new CircuitBreaker({
      target: this.target,
      failureThreshold: opts.breaker?.failureThreshold ?? 5,
      openMs: opts.breaker?.openMs ?? 10_000,
      halfOpenMaxCalls: opts.breaker?.halfOpenMaxCalls ?? 1,
      isFailure: (e) => e instanceof GrpcCallError && BREAKER_FAILURE_CODES.has(e.code),
      ...(opts.registry ? { registry: opts.registry } : {}),
    })
  }

  get breakerState(): BreakerState {
    return this.breaker.state
  }

  /** Calls `method` (the grpc-js client's method name) with the client's resilience. */
  async unary<Req, Res>(method: string, request: Req, options: GrpcCallOptions = {}): Promise<Res> {
    const info = this.methods[method]
    if (!info) throw new Error(`${this.target} has no method ${method}`)
    const deadlineMs = options.deadlineMs ?? this.deadlineMs
    // Deadline propagation: a call made while serving another never outlives the caller's deadline.
    const parentDeadlineAt = currentCallContext()?.deadlineAt
    // The request id and trace context stay the same across retries: they are one logical call.
    let span: { span: Span; carrier: Record<string, string> } | undefined
    let metadata: Metadata
    if (!isTracing()) metadata = outgoingMetadata(options)
    else if (isUnsampled()) {
      // the call being served is not sampled: its context goes on as it is, and no span is made
      const carrier: Record<string, string> = {}
      injectActiveContext(carrier)
      metadata = outgoingMetadata({ ...options, ...carrier })
    } else {
      span = this.startSpan(method, options)
      metadata = outgoingMetadata({ ...options, ...span.carrier })
    }
    if (!span) return this.attempts<Req, Res>(method, info, request, metadata, deadlineMs, parentDeadlineAt)
    try {
      const response = await this.attempts<Req, Res>(
        method,
        info,
        request,
        metadata,
        deadlineMs,
        parentDeadlineAt,
      )
      span.span.setAttribute('rpc.grpc.status_code', status.OK)
      return response
    } catch (e) {
      if (e instanceof GrpcCallError) span.span.setAttribute('rpc.grpc.status_code', e.code)
      recordError(span.span, e)
      throw e
    } finally {
      span.span.end()
    }
  }

  /**
   * The client span of one call (retries included), `<package.Service>/<Method>`, a child of the
   * active span, or of the traceparent given or of the call being served when none is active; and
   * the traceparent (and tracestate) to send for it.
   */
  private startSpan(
    method: string,
    options: GrpcCallOptions,
  ): { span: Span; carrier: Record<string, string> } {
    const fn = (this.client as unknown as Record<string, { path?: string }>)[method]
    const path = fn?.path ?? method
    const name = path.startsWith('/') ? path.slice(1) : `${this.target}/${method}`
    const active = context.active()
    const given = options.traceparent ?? currentCallContext()?.traceparent
    const parent = !trace.getSpan(active) && given ? extractContext({ traceparent: given }) : active
    const slash = name.lastIndexOf('/')
    const span = kitTracer().startSpan(
      name,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': name.slice(0, slash),
          'rpc.method': name.slice(slash + 1),
          'peer.service': this.target,
        },
      },
      parent,
    )
    const carrier: Record<string, string> = {}
    injectContext(span, carrier, parent)
    return { span, carrier }
  }

  private attempts<Req, Res>(
    method: string,
    info: GrpcMethodInfo,
    request: Req,
    metadata: Metadata,
    deadlineMs: number,
    parentDeadlineAt: number | undefined,
  ): Promise<Res> {
    // whether any attempt got past the breaker: without one, the callee cannot have applied it
    let sent = false
    const attempts = retry(
      async () => {
        try {
          const budget =
            parentDeadlineAt === undefined ? deadlineMs : Math.min(deadlineMs, parentDeadlineAt - Date.now())
          if (this.closed) throw new GrpcCallError(status.CANCELLED, 'the client was closed', this.target)
          if (budget <= 0)
            throw new GrpcCallError(
              status.DEADLINE_EXCEEDED,
              'the deadline of the call being served has passed',
              this.target,
            )
          return await this.breaker.call(() => {
            sent = true
            return this.once<Res>(method, request, metadata, budget)
          })
        } catch (e) {
          if (e instanceof BreakerOpenError)
            throw new GrpcCallError(status.UNAVAILABLE, e.message, this.target)
          throw e
        }
      },
      {
        maxAttempts: info.idempotent ? this.maxAttempts : 1,
        baseDelayMs: this.baseDelayMs,
        maxDelayMs: this.maxDelayMs,
        isRetryable: (e) =>
          e instanceof GrpcCallError && RETRYABLE_CODES.has(e.code) && this.breaker.state !== 'open',
      },
    )
    return attempts.catch((e: unknown) => {
      throw !sent && e instanceof Error ? markNotSent(e) : e
    })
  }

  private once<Res>(method: string, request: unknown, metadata: Metadata, deadlineMs: number): Promise<Res> {
    const fn = (this.client as unknown as Record<string, UnaryMethod>)[method]!
    return new Promise<Res>((resolve, reject) => {
      const call = fn.call(
        this.client,
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          this.active.delete(call)
          if (error) reject(new GrpcCallError(error.code, error.details, this.target, error.metadata))
          else resolve(response as Res)
        },
      ) as { cancel(): void }
      this.active.add(call)
    })
  }

  /**
   * Closes the channel. Calls in flight fail at once with CANCELLED (grpc-js alone would let them
   * run to their deadline), and no retry starts after it.
   */
  close(): void {
    this.closed = true
    for (const call of [...this.active]) call.cancel()
    this.active.clear()
    this.client.close()
  }
}
