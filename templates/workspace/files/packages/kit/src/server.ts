import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { isConnectionError } from './db/connection-error.js'
import { requestIdFrom } from './ids.js'
import type { Logger } from './logger.js'
import type { HealthRegistry } from './health.js'
import { addHttpTracing, recordRequestError } from './http-tracing.js'
import type { Metrics } from './metrics.js'
import { plainMode } from './plain.js'
import { REQUEST_ID_LOG_LABEL, RequestLogController, requestLoggerFactory, routeOf } from './request-log.js'
import { isTracing } from './tracing.js'

export type { FastifyInstance }

export interface HttpServerOptions {
  service: string
  logger: Logger
  metrics: Metrics
  health: HealthRegistry
  /** largest accepted body in bytes (default 1 MiB) */
  bodyLimit?: number
  /** fastify's own request logging and hooks instead of the kit's (default: KIT_PLAIN_LOGGING=1) */
  plain?: boolean
}

/** One problem in a 400 body: a JSON pointer to the field and what is wrong with it. */
export interface FieldProblem {
  field: string
  message: string
}

/**
 * A fastify server with the workspace's conventions: request ids (x-request-id in and out),
 * strict validation (unknown fields rejected, no type coercion), JSON errors that never leak a
 * stack, RED metrics per route template, one log line per request, health and metrics routes.
 * With tracing on (startTracing ran first), a server span per request (http-tracing.ts).
 */
export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const plain = opts.plain ?? plainMode()
  const tracing = isTracing()
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    // plain: fastify's own request lines (two a request) and child loggers (PERFORMANCE.md)
    ...(plain
      ? { logController: new LogController({ requestIdLogLabel: REQUEST_ID_LOG_LABEL }) }
      : {
          logController: new RequestLogController(opts.logger, opts.metrics, { tracing }),
          childLoggerFactory: requestLoggerFactory,
        }),
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  })

  if (plain) {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id)
      done()
    })
    app.addHook('onResponse', (request, reply, done) => {
      opts.metrics.observeHttp(request.method, routeOf(request), reply.statusCode, reply.elapsedTime / 1000)
      done()
    })
  }

  // server spans: started and ended by the kit's log controller, or by two hooks in plain mode
  if (tracing) addHttpTracing(app, { hooks: plain })

  // JSON only: a text/plain body would otherwise reach the schema as a string (400); it is a 415.
  app.removeContentTypeParser('text/plain')

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply))
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` })
  })

  app.get('/health/live', async () => ({ status: 'live' }))
  app.get('/health/ready', async (_request, reply) => {
    const report = await opts.health.readiness()
    return reply
      .code(report.ready ? 200 : 503)
      .send({ status: report.ready ? 'ready' : 'not_ready', checks: report.checks })
  })
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await opts.metrics.exposition()
    return reply.type(contentType).send(body)
  })
  return app
}

function sendError(error: FastifyError & { field?: string }, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation) {
    const details = error.validation.map(toFieldProblem)
    const first = details[0]
    return reply.code(400).send({
      error: 'validation_failed',
      message: first ? `${first.field || 'body'}: ${first.message}` : error.message,
      details,
    })
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply
        .code(400)
        .send({ error: 'invalid_json', message: `request body is not valid JSON: ${error.message}` })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply
        .code(415)
        .send({ error: 'unsupported_media_type', message: 'send JSON with content-type: application/json' })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply.code(413).send({ error: 'payload_too_large', message: error.message })
  }
  if (error instanceof SyntaxError && error.statusCode === 400)
    return reply
      .code(400)
      .send({ error: 'invalid_json', message: `request body is not valid JSON: ${error.message}` })
  switch (error.name) {
    case 'NotFoundError':
      return reply.code(404).send({ error: 'not_found', message: error.message })
    case 'ConflictError':
      return reply.code(409).send({ error: 'conflict', message: error.message })
    case 'InvalidInputError':
      return reply.code(400).send({
        error: 'validation_failed',
        message: error.message,
        details: [{ field: error.field ?? '', message: error.message }],
      })
    case 'UnavailableError':
      return reply.code(503).send({ error: 'unavailable', message: error.message })
    case 'UnauthenticatedError':
      return reply.code(401).send({ error: 'unauthenticated', message: error.message })
    case 'NotImplementedError':
      return reply.code(501).send({ error: 'not_implemented', message: error.message })
  }
  const status = error.statusCode ?? 500
  if (status < 500) return reply.code(status).send({ error: 'bad_request', message: error.message })
  // a connection the work needed was refused, lost or not had in time (the database pool's wait,
  // a server restarting): a 503 the caller may retry, whichever code met it, not a 500
  if (isConnectionError(error)) {
    request.log.warn({ err: error }, 'a connection was not available')
    return reply
      .code(503)
      .send({ error: 'unavailable', message: 'a connection was not available: try again' })
  }
  request.log.error({ err: error }, 'unhandled error')
  recordRequestError(request, error)
  return reply.code(500).send({ error: 'internal', message: 'internal error', requestId: request.id })
}

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** Names the field an Ajv error is about: the missing or unknown property, or the path. */
export function toFieldProblem(e: AjvError): FieldProblem {
  if (e.keyword === 'required') {
    const field = `${e.instancePath}/${String(e.params.missingProperty)}`
    return { field, message: 'is required' }
  }
  if (e.keyword === 'additionalProperties') {
    const field = `${e.instancePath}/${String(e.params.additionalProperty)}`
    return { field, message: 'is not an allowed field' }
  }
  return { field: e.instancePath || '/', message: e.message ?? 'is invalid' }
}
