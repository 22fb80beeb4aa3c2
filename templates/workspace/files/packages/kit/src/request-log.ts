import {
  LogController,
  type FastifyBaseLogger,
  type FastifyServerOptions,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'
import { endRequestSpan, requestSpan, startRequestSpan } from './http-tracing.js'
import { preformattedLine, type Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import { PerRoute } from './per-route.js'

/** Routes that are polled (health checks, scrapes): counted in metrics, logged only at debug. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics'])

/** The label of the request id in every line about a request. */
export const REQUEST_ID_LOG_LABEL = 'requestId'

/** The route template (`/orders/:id`), or `unmatched` for a request no route matched. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched'
}

/**
 * The request's lines: one per finished request, `request` at info (at debug for polled routes),
 * with the request id, method, route template, status code and duration as fields (and the request's
 * trace_id and span_id when it has a span). The fields that
 * repeat from request to request are made into JSON once per route, method and status code.
 */
export class RequestLines {
  private readonly info: (fields: string) => void
  private readonly debug: (fields: string) => void
  /** `"method":…,"route":…,"statusCode":…` */
  private readonly fixed = new PerRoute((route, method, statusCode) =>
    JSON.stringify({ method, route, statusCode }).slice(1, -1),
  )

  constructor(private readonly logger: Logger) {
    this.info = preformattedLine(logger, 'info', 'request')
    this.debug = preformattedLine(logger, 'debug', 'request')
  }

  write(request: FastifyRequest, reply: FastifyReply, route: string): void {
    const quiet = QUIET_ROUTES.has(route)
    if (quiet && !this.logger.isLevelEnabled('debug')) return
    let fields = `"requestId":${JSON.stringify(request.id)},${this.fixed.get(route, request.method, reply.statusCode)},"durationMs":${Math.round(reply.elapsedTime * 100) / 100}`
    // the request's own span (ended by now, so not the active one): its ids, as on every traced line
    const span = requestSpan(request)
    if (span) {
      const c = span.spanContext()
      fields += `,"trace_id":"${c.traceId}","span_id":"${c.spanId}"`
    }
    if (quiet) this.debug(fields)
    else this.info(fields)
  }
}

/**
 * Each request as it arrives and as it finishes, as fastify reports them to its log controller:
 * the request id into `x-request-id` on arrival; on completion the request's RED metrics and its
 * line (RequestLines), and an error line when the response could not be written; with tracing on,
 * the request's server span starts on arrival and ends on completion. Fastify's other
 * lines (stream and serializer errors) are written as it writes them, with the request id labelled
 * `requestId`. Doing this here rather than in onRequest and onResponse hooks spares every request
 * two hook runs (PERFORMANCE.md).
 */
export class RequestLogController extends LogController {
  private readonly lines: RequestLines

  private readonly tracing: boolean

  /** `tracing`: also start and end each request's server span (http-tracing.ts) */
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    opts: { tracing?: boolean } = {},
  ) {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL })
    this.lines = new RequestLines(logger)
    this.tracing = opts.tracing ?? false
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    reply.header('x-request-id', request.id)
    if (this.tracing) startRequestSpan(request)
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.tracing) endRequestSpan(request, reply)
    const route = routeOf(request)
    this.metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
    this.lines.write(request, reply, route)
    if (!error) return
    this.logger.error(
      {
        requestId: request.id,
        method: request.method,
        route,
        statusCode: reply.statusCode,
        err: error,
      },
      'response failed',
    )
  }
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * `request.log`: its lines carry the request id, as those of a pino child logger do, but the
 * child is made only when a line is logged at an enabled level. Most requests log nothing of their
 * own, and a pino child for every request (its bindings serialized) showed in the profile under
 * load (PERFORMANCE.md).
 */
class RequestLogger {
  private made: Logger | undefined

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get logger(): Logger {
    return (this.made ??= this.parent.child(this.bindings, this.options))
  }

  get level(): string {
    return (this.made ?? this.parent).level
  }

  set level(level: string) {
    this.logger.level = level
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args)
  }
  error(...args: unknown[]): void {
    this.write('error', args)
  }
  warn(...args: unknown[]): void {
    this.write('warn', args)
  }
  info(...args: unknown[]): void {
    this.write('info', args)
  }
  debug(...args: unknown[]): void {
    this.write('debug', args)
  }
  trace(...args: unknown[]): void {
    this.write('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options)
  }

  private write(level: Level, args: unknown[]): void {
    if (this.made === undefined && !this.parent.isLevelEnabled(level)) return
    const logger = this.logger
    ;(logger[level] as (...args: unknown[]) => void).apply(logger, args)
  }
}

/** Fastify's `childLoggerFactory`: a lazy RequestLogger, or a real child for a route with its own log level. */
export const requestLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
) => {
  const parent = logger as Logger
  if (options.level !== undefined) return parent.child(bindings, options)
  return new RequestLogger(parent, bindings, options) as unknown as FastifyBaseLogger
}
