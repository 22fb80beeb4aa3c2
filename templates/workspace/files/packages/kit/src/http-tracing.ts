import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { extractContext, isTracing, kitTracer, recordError } from './tracing.js'

const SPAN = Symbol('kit.span')
const SPAN_CONTEXT = Symbol('kit.spanContext')

type TracedRequest = FastifyRequest & { [SPAN]?: Span; [SPAN_CONTEXT]?: Context }

/** Routes that are polled (health checks, scrapes): no span, or the traces would be mostly probes. */
const UNTRACED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics'])

/** The server span of a request, when tracing is on and the request has one. */
export function requestSpan(request: FastifyRequest): Span | undefined {
  return isTracing() ? (request as TracedRequest)[SPAN] : undefined
}

// The API's singletons, read once: imported from a CommonJS package into a bundle, each use of
// an import goes through two getters, which showed in the profile at one use per request.
const api = { context, trace, SERVER: SpanKind.SERVER }

/**
 * Starts the server span of a request (`GET /orders/:id`, kind server), a child of the caller's
 * span when it sent a `traceparent`, with the http.* attributes of the semantic conventions; no
 * span for the polled routes. Called as the request arrives, before any hook.
 */
export function startRequestSpan(request: FastifyRequest): void {
  const route = request.routeOptions.url
  if (route !== undefined && UNTRACED_ROUTES.has(route)) return
  const parent = extractContext(request.headers)
  const span = kitTracer().startSpan(
    route === undefined ? request.method : `${request.method} ${route}`,
    { kind: api.SERVER },
    parent,
  )
  if (span.isRecording()) {
    const q = request.url.indexOf('?')
    span.setAttributes({
      [ATTR_HTTP_REQUEST_METHOD]: request.method,
      [ATTR_URL_PATH]: q === -1 ? request.url : request.url.slice(0, q),
      [ATTR_URL_SCHEME]: 'http',
      ...(route !== undefined ? { [ATTR_HTTP_ROUTE]: route } : {}),
    })
  }
  const traced = request as TracedRequest
  traced[SPAN] = span
  traced[SPAN_CONTEXT] = api.trace.setSpan(parent, span)
}

/**
 * Ends the server span of a request once its response is written: the status code, and a failed
 * status on a 5xx (with the error that caused it, when the server's error handler recorded one).
 */
export function endRequestSpan(request: FastifyRequest, reply: FastifyReply): void {
  const span = (request as TracedRequest)[SPAN]
  if (!span) return
  const status = reply.statusCode
  if (span.isRecording()) {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
    // a 4xx is the caller's mistake: the server span stays unset (semantic conventions)
    if (status >= 500 && !(request as { [ERRORED]?: true })[ERRORED]) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute(ATTR_ERROR_TYPE, String(status))
    }
  }
  span.end()
}

/**
 * Server spans for a fastify server (createHttpServer adds them only when tracing is on):
 *
 * - the span starts as the request arrives and ends once the response is written. The kit's own
 *   log controller (request-log.ts) calls startRequestSpan and endRequestSpan where it already
 *   does its per-request work, so tracing adds no hook run to a request; with `hooks` (plain mode,
 *   fastify's own log controller) an onRequest and an onResponse hook call them instead.
 * - every route handler is wrapped once, as the route is added (onRoute), to run in the span's
 *   context (`context.with`): the spans, outgoing calls and log lines it makes are the span's
 *   children. The handler is where the context has to be set: fastify reads a request body from
 *   the socket's events, so a context entered before the body was read would be gone by then.
 *   What runs outside the handler (other plugins' hooks) sees no span.
 */
export function addHttpTracing(app: FastifyInstance, opts: { hooks: boolean }): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler
    route.handler = function tracedHandler(this: FastifyInstance, request, reply) {
      const ctx = (request as TracedRequest)[SPAN_CONTEXT]
      return ctx === undefined
        ? handler.call(this, request, reply)
        : api.context.with(ctx, handler, this, request, reply)
    }
  })
  if (!opts.hooks) return
  app.addHook('onRequest', (request, _reply, done) => {
    startRequestSpan(request)
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    endRequestSpan(request, reply)
    done()
  })
}

const ERRORED = Symbol('kit.spanErrored')

/** Records the error that makes a request fail (a 500) on its server span. */
export function recordRequestError(request: FastifyRequest, error: unknown): void {
  const span = requestSpan(request)
  if (!span) return
  recordError(span, error)
  ;(request as { [ERRORED]?: true })[ERRORED] = true
}
