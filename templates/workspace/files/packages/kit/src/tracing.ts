import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import { randomHex } from './ids.js'

/**
 * Distributed tracing with OpenTelemetry, configured only by the standard `OTEL_*` environment:
 *
 * - on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set and
 *   `OTEL_SDK_DISABLED` is not `true`; off otherwise, so unit tests and a plain `npm test` make no
 *   spans and pay nothing;
 * - spans go out over OTLP/HTTP (protobuf) in batches, flushed by `shutdown()` (main.ts runs it
 *   as the last shutdown hook);
 * - `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the service (default: the name given
 *   to startTracing); `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` choose the sampler
 *   (`parentbased_traceidratio` with `0.1` keeps one trace in ten, and always follows the caller's
 *   decision); `OTEL_BSP_*` tune the batches;
 * - W3C trace context (`traceparent`, `tracestate`) in and out; the active span follows the work
 *   through AsyncLocalStorage.
 *
 * Why the kit makes its spans itself (its HTTP server's log controller, the HTTP and gRPC clients,
 * the event bus, the database pool) with the OpenTelemetry API instead of the SDK's
 * auto-instrumentations:
 *
 * - A service runs as one esbuild bundle (dist/main.js, ESM). The instrumentations of fastify, pg
 *   and grpc-js patch those packages as Node loads them (require-in-the-middle,
 *   import-in-the-middle); in the bundle they are inlined and never loaded by Node, so those
 *   instrumentations make no span at all. Marking the packages external would bring node_modules
 *   back into the image.
 * - The HTTP instrumentation patches `node:http`, which the bundle does load, so it can work when
 *   preloaded (`node --require`). Measured on a GET-by-id route like the generated one (the kit's
 *   server, the domain call traced; 2 cores, a loaded machine, medians of 5 rounds), CPU per
 *   request: tracing off 51 µs; at 10 % sampling the kit's spans 69 µs, the HTTP
 *   instrumentation's 117 µs; at 100 %, 94 µs against 134 µs. Its spans are named by method
 *   alone (`GET`): the route template needs the fastify instrumentation.
 * - The kit knows what the instrumentations must guess (the route template, the gRPC method, the
 *   event type), and when tracing is off it adds nothing to a request.
 *
 * The SDK is loaded only when tracing is on (a dynamic import, which the bundle keeps lazy): a
 * service without tracing does not evaluate the SDK and exporter at start.
 */

/** The handle startTracing returns: `shutdown()` flushes the spans held and stops the SDK. */
export interface Tracing {
  enabled: boolean
  /** exports what is held (for a test that wants the spans now); never rejects */
  flush(): Promise<void>
  /**
   * Exports what is held, within `shutdownTimeoutMs`, and stops the SDK; never rejects. Spans that
   * cannot be exported by then (nothing listening at the endpoint) are dropped, so that shutdown
   * is not held up by the exporter's retries.
   */
  shutdown(): Promise<void>
}

export interface StartTracingOptions {
  /** the service's name, used when OTEL_SERVICE_NAME is not set */
  service: string
  /** the environment to read (default process.env) */
  env?: NodeJS.ProcessEnv
  /**
   * Tests: spans go to this exporter, one at a time as they end (no batching), and tracing is
   * on whatever the environment says.
   */
  exporter?: SpanExporter
  /** the longest shutdown() waits for the last export (default 2 s) */
  shutdownTimeoutMs?: number
}

const OFF: Tracing = { enabled: false, flush: async () => undefined, shutdown: async () => undefined }

let enabled = false
/** the kit's tracer, from the provider startTracing registered */
let tracer: Tracer | undefined

// The API's singletons, read once: imported from a CommonJS package into a bundle, each use of an
// import goes through two getters, which showed in the profile at several uses per request.
const api = { context, propagation, trace, ROOT_CONTEXT }

/** True while tracing is on in this process: the kit's instrumentation checks it before any work. */
export function isTracing(): boolean {
  return enabled
}

/** Whether the environment turns tracing on: an OTLP endpoint is set and the SDK is not disabled. */
export function isTracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim())
}

/**
 * Starts the OpenTelemetry SDK when the environment asks for it (see isTracingConfigured), or
 * when a test passes its own exporter; otherwise does nothing and returns a handle whose methods
 * do nothing. Call it before creating the logger and the servers: they add their tracing only when
 * it is on at the time.
 */
export async function startTracing(opts: StartTracingOptions): Promise<Tracing> {
  const env = opts.env ?? process.env
  if (!opts.exporter && !isTracingConfigured(env)) return OFF
  if (enabled) throw new Error('tracing is already started in this process')
  const [sdk, resources, core, hooks] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
  ])
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the given name
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': opts.service }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  let processor
  if (opts.exporter) processor = new sdk.SimpleSpanProcessor(opts.exporter)
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto')
    // The exporter reads its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*. When nothing
    // listens there, an export fails and its spans are dropped; the failure goes to the API's
    // diagnostic logger, which logs nothing unless one is installed: the service goes on quietly.
    processor = new sdk.BatchSpanProcessor(new OTLPTraceExporter())
  }
  // BasicTracerProvider reads OTEL_TRACES_SAMPLER(_ARG) and the span limits from the environment.
  // Ids come from the kit's pool of random bytes (ids.ts), as request ids do: one hex conversion
  // each, where the SDK's generator writes four Math.random() words into a buffer per trace id.
  const provider = new sdk.BasicTracerProvider({
    resource,
    spanProcessors: [processor],
    idGenerator: { generateTraceId: () => randomHex(16), generateSpanId: () => randomHex(8) },
  })
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  tracer = provider.getTracer('kit')
  enabled = true
  let stopped: Promise<void> | undefined
  const limit = opts.shutdownTimeoutMs ?? 2000
  return {
    enabled: true,
    // a failed export is reported by the SDK's error handler (quiet by default), not here
    flush: () => provider.forceFlush().catch(() => undefined),
    shutdown: () =>
      (stopped ??= (async () => {
        enabled = false
        tracer = undefined
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          provider.shutdown().catch(() => undefined),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, limit)
            timer.unref()
          }),
        ])
        clearTimeout(timer)
        trace.disable()
        context.disable()
        propagation.disable()
      })()),
  }
}

/** The kit's tracer: every span the kit makes comes from it. */
export function kitTracer(): Tracer {
  return tracer ?? trace.getTracer('kit')
}

/** Reads `traceparent` / `tracestate` from a header-like record. */
const RECORD_GETTER = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const v = carrier[key]
    return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] as string) : undefined
  },
}

/** The context a caller sent (`traceparent`, `tracestate` in `carrier`), on top of the root. */
export function extractContext(carrier: Record<string, unknown>): Context {
  return api.propagation.extract(api.ROOT_CONTEXT, carrier, RECORD_GETTER)
}

/** Writes the trace context of `span` (`traceparent`, `tracestate`) into `carrier`. */
export function injectContext(
  span: Span,
  carrier: Record<string, string>,
  parent = api.context.active(),
): void {
  api.propagation.inject(api.trace.setSpan(parent, span), carrier)
}

/** Writes the active context (`traceparent`, `tracestate`) into `carrier`, as it is. */
export function injectActiveContext(carrier: Record<string, string>): void {
  api.propagation.inject(api.context.active(), carrier)
}

/** The W3C traceparent of a span: `00-<trace id>-<span id>-<flags>`. */
export function toTraceparent(span: Span): string {
  const c = span.spanContext()
  return `00-${c.traceId}-${c.spanId}-${c.traceFlags & 1 ? '01' : '00'}`
}

/** Marks a span failed with `error`: its status, an exception event and `error.type`. */
export function recordError(span: Span, error: unknown): void {
  if (!span.isRecording()) return
  const e = error instanceof Error ? error : new Error(String(error))
  span.recordException(e)
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message })
  span.setAttribute('error.type', e.name || 'Error')
}

/**
 * True when the active span's trace was not sampled (its sampled flag is off). The kit then makes
 * no child span: under the parent-based samplers (the default, and the stack's) a child of an
 * unsampled span is never recorded either, and under traceidratio the same trace id gets the same
 * decision; skipping it spares the span, its context and a promise. The active span's context
 * (sampled flag off) is what goes on to other services, so they do not record the trace either.
 * The flag, not isRecording(): a sampled span that has ended (a request that answered 202 while
 * its saga goes on) records nothing more, yet work that goes on in its context is still sampled.
 */
export function isUnsampled(): boolean {
  const span = api.trace.getActiveSpan()
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0
}

/**
 * Runs `fn` inside a new span (a child of the active one) and ends it when `fn` settles; a throw
 * or rejection marks the span failed and is passed on. Without tracing, `fn` runs as it is.
 */
export function withSpan<T>(
  name: string,
  fn: () => T,
  opts: { kind?: SpanKind; attributes?: Attributes } = {},
): T {
  if (!enabled || isUnsampled()) return fn()
  const span = kitTracer().startSpan(name, opts)
  let result: T
  try {
    result = api.context.with(api.trace.setSpan(api.context.active(), span), fn)
  } catch (e) {
    recordError(span, e)
    span.end()
    throw e
  }
  if (result instanceof Promise)
    return result.then(
      (v) => {
        span.end()
        return v
      },
      (e: unknown) => {
        recordError(span, e)
        span.end()
        throw e
      },
    ) as T
  span.end()
  return result
}

/**
 * Gives each method of `target` a span of its own (`<name>.<method>`, internal), for the service's
 * domain operations: whoever calls them (HTTP routes, gRPC handlers, event handlers), the
 * operation shows in the trace. The methods are `methods`, or by default every method of the
 * object's classes (not Object's), helpers included. Without tracing, `target` is returned
 * untouched, so the methods cost nothing more.
 */
export function traceMethods<T extends object>(target: T, name: string, methods?: readonly string[]): T {
  if (!enabled) return target
  for (const method of methods ?? methodNames(target)) {
    const original = (target as Record<string, unknown>)[method]
    if (typeof original !== 'function') continue
    const spanName = `${name}.${method}`
    const fn = original as (...args: unknown[]) => unknown
    Object.defineProperty(target, method, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]) {
        return withSpan(spanName, () => fn.apply(this, args))
      },
    })
  }
  return target
}

/** The methods the classes of `target` define (getters and setters left out). */
function methodNames(target: object): string[] {
  const names = new Set<string>()
  for (
    let p = Object.getPrototypeOf(target) as object | null;
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  )
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === 'constructor') continue
      if (typeof Object.getOwnPropertyDescriptor(p, key)?.value === 'function') names.add(key)
    }
  return [...names]
}

/** `trace_id` and `span_id` of the active span for a log line, or undefined when there is none. */
export function activeTraceFields(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined
  const span = api.trace.getActiveSpan()
  if (!span) return undefined
  const c = span.spanContext()
  return { trace_id: c.traceId, span_id: c.spanId }
}

export { SpanKind, SpanStatusCode, context as otelContext, trace as otelTrace }
export type { Span }
