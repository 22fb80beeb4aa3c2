import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions'
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
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

/**
 * A server span for every request (`GET /orders/:id`, kind server), a child of the caller's span
 * when it sent a `traceparent`, with the http.* attributes of the semantic conventions, the
 * response's status code, and a failed status on a 5xx (or on the error that caused it, recorded
 * by the server's error handler). Added by createHttpServer only when tracing is on.
 *
 * - onRequest starts the span and runs the rest of the request in its context
 *   (`context.with(ctx, done)`); that covers what runs synchronously after it, but a request with
 *   a body resumes from the socket's own async context once the body is read, so the handler
 *   itself is also wrapped (an onRoute hook, once per route at registration, nothing per request):
 *   it always runs in the span's context, and the spans and log lines it makes are its children.
 * - onResponse ends the span, after the response is written.
 *
 * Two hooks a request, only while tracing is on: measured with bench/ (the kit's README of
 * overheads, PERFORMANCE.md), that is what the span costs beyond the span itself.
 */
export function addHttpTracing(app: FastifyInstance): void {
  const tracer = kitTracer()
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler
    route.handler = function tracedHandler(this: FastifyInstance, request, reply) {
      const ctx = (request as TracedRequest)[SPAN_CONTEXT]
      return ctx ? context.with(ctx, handler, this, request, reply) : handler.call(this, request, reply)
    }
  })
  app.addHook('onRequest', (request: TracedRequest, _reply, done) => {
    const route = request.routeOptions.url
    if (route !== undefined && UNTRACED_ROUTES.has(route)) return done()
    const parent = extractContext(request.headers)
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      { kind: SpanKind.SERVER },
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
    const ctx = trace.setSpan(parent, span)
    request[SPAN] = span
    request[SPAN_CONTEXT] = ctx
    context.with(ctx, done)
  })
  app.addHook('onResponse', (request: TracedRequest, reply, done) => {
    const span = request[SPAN]
    if (span) {
      const status = reply.statusCode
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      // a 4xx is the caller's mistake: the server span stays unset (semantic conventions)
      if (status >= 500 && !(request as { [ERRORED]?: true })[ERRORED]) {
        span.setStatus({ code: SpanStatusCode.ERROR })
        span.setAttribute(ATTR_ERROR_TYPE, String(status))
      }
      span.end()
    }
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
