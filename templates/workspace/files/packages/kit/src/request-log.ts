import {
  LogController,
  type FastifyBaseLogger,
  type FastifyServerOptions,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'
import type { Logger } from './logger.js'

/** Routes that are polled (health checks, scrapes): counted in metrics, logged only at debug. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics'])

/** The label of the request id in every line about a request. */
export const REQUEST_ID_LOG_LABEL = 'requestId'

/** The route template (`/orders/:id`), or `unmatched` for a request no route matched. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched'
}

/**
 * The request's line: one per finished request, written by the service's logger with the request
 * id as a field (no child logger). Polled routes are logged only at debug.
 */
export function logRequest(
  logger: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
  route: string,
): void {
  const quiet = QUIET_ROUTES.has(route)
  if (quiet && !logger.isLevelEnabled('debug')) return
  const line = {
    requestId: request.id,
    method: request.method,
    route,
    statusCode: reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
  }
  if (quiet) logger.debug(line, 'request')
  else logger.info(line, 'request')
}

/**
 * Fastify's own request log lines, as this workspace wants them: none when a request arrives or
 * completes (the server's onResponse hook writes the request's line with logRequest), an error
 * line when a response could not be written, and fastify's other lines (stream and serializer
 * errors) as it writes them, with the request id labelled `requestId`.
 */
export class RequestLogController extends LogController {
  constructor(private readonly logger: Logger) {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL })
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (!error) return
    this.logger.error(
      {
        requestId: request.id,
        method: request.method,
        route: routeOf(request),
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
 * load (issue #2).
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
