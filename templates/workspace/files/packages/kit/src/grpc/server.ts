import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
} from '@grpc/grpc-js'
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api'
import type { HealthRegistry } from '../health.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { readCallContext, runWithCallContext, type CallContext } from './context.js'
import { createHealthImplementation, HealthService } from './health.js'
import { grpcServerMetrics } from './metrics.js'
import { createReflectionImplementation, REFLECTION_SERVICES } from './reflection.js'
import { statusName, toGrpcStatus } from './status.js'
import { extractContext, isTracing, kitTracer, recordError, toTraceparent } from '../tracing.js'

/** Codes that mark a server span failed (the semantic conventions for gRPC servers). */
const SERVER_ERROR_CODES = new Set([
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.UNIMPLEMENTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
])

/**
 * The server span of a call (`<package.Service>/<Method>`, kind server), a child of the caller's
 * span when its metadata carried a traceparent. The call context then carries this span's
 * traceparent, so that what reads it (outgoing calls, events) continues from here.
 */
function startServerSpan(ctx: CallContext, service: string, method: string): Span {
  const parent = ctx.traceparent
    ? extractContext({
        traceparent: ctx.traceparent,
        ...(ctx.tracestate ? { tracestate: ctx.tracestate } : {}),
      })
    : context.active()
  const span = kitTracer().startSpan(
    `${service}/${method}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method },
    },
    parent,
  )
  ctx.traceparent = toTraceparent(span)
  return span
}

function endServerSpan(span: Span, code: status, err: unknown): void {
  span.setAttribute('rpc.grpc.status_code', code)
  if (SERVER_ERROR_CODES.has(code)) {
    if (err !== undefined) recordError(span, err)
    else span.setStatus({ code: SpanStatusCode.ERROR })
  }
  span.end()
}

/** What a unary handler gets besides the request. */
export interface UnaryContext extends CallContext {
  /** the call's metadata as it came (an `idempotency-key`, say) */
  metadata: Metadata
  /** aborts when the caller cancels or its deadline passes */
  signal: AbortSignal
  /** the caller's deadline, if it sent one */
  deadline?: Date
  /** sent to the caller with the status, on success or failure (a `saga-id`, say) */
  trailer: Metadata
}

/** A unary handler as a plain async function; throw domain errors, the server maps them to statuses. */
export type UnaryHandler<Req, Res> = (request: Req, ctx: UnaryContext) => Promise<Res>

/**
 * Handlers for every method of a service definition (ts-proto's `<Service>Service`): unary methods
 * as async functions; streaming methods as plain grpc-js handlers, served as they are.
 */
export type AsyncServiceImplementation<D> = {
  [K in keyof D]: D[K] extends {
    requestStream: false
    responseStream: false
    requestDeserialize: (b: Buffer) => infer Req
    responseSerialize: (r: infer Res) => Buffer
  }
    ? UnaryHandler<Req, Res>
    : D[K] extends {
          requestDeserialize: (b: Buffer) => infer Req
          responseSerialize: (r: infer Res) => Buffer
        }
      ? StreamingHandler<Req, Res>
      : never
}

/** The grpc-js handler of a streaming method. */
export type StreamingHandler<Req, Res> =
  | handleServerStreamingCall<Req, Res>
  | handleClientStreamingCall<Req, Res>
  | handleBidiStreamingCall<Req, Res>

export interface GrpcServerOptions {
  logger: Logger
  metrics: Metrics
  health: HealthRegistry
  /** largest message accepted, in bytes (default 4 MiB, grpc-js's own) */
  maxReceiveMessageLength?: number
}

/**
 * A grpc-js server with the workspace's conventions: async handlers whose domain errors become
 * status codes, the request id and trace context read from metadata (and echoed), per-method
 * metrics by status code with a latency histogram, one log line a call, the standard health
 * service reflecting readiness, and a drain on close.
 */
export class GrpcServer {
  readonly server: Server
  private readonly names: string[] = []
  private port?: number

  constructor(private readonly opts: GrpcServerOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': opts.maxReceiveMessageLength ?? 4 * 1024 * 1024,
    })
  }

  /** Serves `definition` (ts-proto's `<Service>Service`) with `impl`; health answers for its full name. */
  addService<D extends ServiceDefinition>(definition: D, impl: AsyncServiceImplementation<D>): this {
    const first = Object.values(definition)[0] as { path: string } | undefined
    if (!first) throw new Error('a service definition without methods')
    const name = first.path.slice(1, first.path.lastIndexOf('/'))
    const metrics = grpcServerMetrics(this.opts.metrics.registry)
    const handlers: UntypedServiceImplementation = {}
    for (const key of Object.keys(definition)) {
      const path = (definition[key] as { path: string }).path
      const methodName = path.slice(path.lastIndexOf('/') + 1)
      const attrs = definition[key] as { requestStream: boolean; responseStream: boolean }
      const fn = (impl as Record<string, unknown>)[key]
      handlers[key] =
        attrs.requestStream || attrs.responseStream
          ? (fn as StreamingHandler<unknown, unknown>)
          : this.wrapUnary(name, methodName, fn as UnaryHandler<unknown, unknown>, metrics)
    }
    this.server.addService(definition, handlers)
    this.names.push(name)
    return this
  }

  private wrapUnary(
    service: string,
    method: string,
    fn: UnaryHandler<unknown, unknown>,
    metrics: ReturnType<typeof grpcServerMetrics>,
  ): handleUnaryCall<unknown, unknown> {
    const { logger } = this.opts
    return (call: ServerUnaryCall<unknown, unknown>, callback) => {
      const t0 = performance.now()
      const deadline = call.getDeadline()
      const deadlineAt =
        deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined
      const ctx: CallContext = {
        ...readCallContext(call.metadata),
        ...(deadlineAt !== undefined ? { deadlineAt } : {}),
      }
      const span = isTracing() ? startServerSpan(ctx, service, method) : undefined
      const controller = new AbortController()
      call.once('cancelled', () => controller.abort(new Error('cancelled by the caller')))
      const done = (code: status, details?: string, err?: unknown) => {
        const seconds = (performance.now() - t0) / 1000
        const labels = { grpc_service: service, grpc_method: method, grpc_code: statusName(code) }
        metrics.handled.inc(labels)
        metrics.seconds.observe(labels, seconds)
        const line = {
          requestId: ctx.requestId,
          grpcMethod: `${service}/${method}`,
          grpcCode: labels.grpc_code,
          ms: Math.round(seconds * 1e4) / 10,
        }
        // OK calls log at debug: at thousands of calls a second a line each costs a third of the
        // throughput (bench/proto.mjs), and the metrics already count them with their latency.
        if (code === status.OK) logger.debug(line, 'grpc call')
        else if (code === status.INTERNAL || code === status.UNKNOWN)
          logger.error({ ...line, err }, 'grpc call failed')
        else logger.info({ ...line, details }, 'grpc call')
        if (span) endServerSpan(span, code, err)
      }
      call.sendMetadata(withRequestId(ctx.requestId))
      const trailer = new Metadata()
      const run = () =>
        runWithCallContext(ctx, () =>
          fn(call.request, {
            ...ctx,
            trailer,
            metadata: call.metadata,
            signal: controller.signal,
            ...(deadlineAt !== undefined ? { deadline: new Date(deadlineAt) } : {}),
          }),
        )
      ;(span ? context.with(trace.setSpan(context.active(), span), run) : run()).then(
        (response) => {
          done(status.OK)
          callback(null, response, trailer)
        },
        (error: unknown) => {
          const { code, details } = toGrpcStatus(error)
          done(code, details, error)
          callback({ code, details, metadata: trailer })
        },
      )
    }
  }

  /** Serves gRPC server reflection (v1 and v1alpha) from generated FILE_DESCRIPTORS. */
  addReflection(descriptors: readonly string[]): this {
    const impl = createReflectionImplementation(descriptors)
    for (const definition of REFLECTION_SERVICES) this.server.addService(definition, impl)
    return this
  }

  /** Binds `host:port` (0 picks a free port), adds the health service, starts serving; resolves to the port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    this.server.addService(
      HealthService,
      createHealthImplementation({ health: this.opts.health, services: this.names }),
    )
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    )
    return this.port
  }

  /**
   * Stops taking new calls and waits for in-flight ones to finish; after `graceMs` the remaining
   * calls are cancelled. Health watches end at once (they would never drain).
   */
  async close(graceMs = 5000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown()
        resolve()
      }, graceMs)
      timer.unref()
      this.server.tryShutdown(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}

function withRequestId(requestId: string): Metadata {
  const md = new Metadata()
  md.set('x-request-id', requestId)
  return md
}
