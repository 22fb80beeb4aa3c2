// Tracing with the spans kept in memory (InMemorySpanExporter): server spans from an incoming
// traceparent, log lines with the ids, the HTTP client's child context, an event's producer and
// consumer, query spans, domain operations, sampling, and tracing off without the environment.
import { Writable } from 'node:stream'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import type { Database } from './db/index.js'
import { inTransaction } from './db/transaction.js'
import { traceQueries } from './db/tracing.js'
import { ConflictError } from './errors.js'
import { SagaOrchestrator } from './saga/orchestrator.js'
import { createSagaTables } from './saga/testing.js'
import { defineSaga } from './saga/types.js'
import { consumeInSpan } from './events/tracing.js'
import { traceContext } from './gateway/forwarded.js'
import { MemoryEventPublisher } from './events/memory.js'
import { HealthRegistry } from './health.js'
import { ServiceClient } from './http-client.js'
import { createLogger } from './logger.js'
import { Metrics } from './metrics.js'
import { createHttpServer, type FastifyInstance } from './server.js'
import {
  isTracing,
  isTracingConfigured,
  startTracing,
  traceMethods,
  withSpan,
  type Tracing,
} from './tracing.js'

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'
const CALLER = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`

function sink() {
  const lines: Record<string, unknown>[] = []
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { lines, out }
}

/** An envelope as a subscriber receives it. */
const anEvent = () => ({
  specversion: '1.0' as const,
  id: 'e1',
  type: 'order.created',
  source: '/shop/order',
  time: new Date(0).toISOString(),
  traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
  datacontenttype: 'application/json' as const,
  data: { id: 'o1' },
})

function server(plain = false) {
  const { lines, out } = sink()
  const logger = createLogger('test', 'info', out, { plain })
  const app = createHttpServer({
    service: 'test',
    logger,
    metrics: new Metrics('test', { processMetrics: false, plain }),
    health: new HealthRegistry(),
    plain,
  })
  return { app, lines, logger }
}

describe('tracing off', () => {
  it('is off without an OTLP endpoint, or when OTEL_SDK_DISABLED is true', async () => {
    expect(isTracingConfigured({})).toBe(false)
    expect(isTracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true)
    expect(isTracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x:4318/v1/traces' })).toBe(true)
    expect(
      isTracingConfigured({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_SDK_DISABLED: 'TRUE',
      }),
    ).toBe(false)
    const tracing = await startTracing({ service: 'test', env: {} })
    expect(tracing.enabled).toBe(false)
    expect(isTracing()).toBe(false)
  })

  it('makes no span, adds no hook and passes a given traceparent on as it is', async () => {
    const { app, lines } = server()
    app.get('/things/:id', async (req) => {
      req.log.info('inside')
      return { active: trace.getActiveSpan() !== undefined }
    })
    const res = await app.inject({ url: '/things/1', headers: { traceparent: CALLER } })
    expect(res.json()).toEqual({ active: false })
    await app.close()
    await new Promise((r) => setImmediate(r))
    expect(lines.every((l) => !('trace_id' in l))).toBe(true)
    let sent: Headers | undefined
    const client = new ServiceClient({
      target: 'payment',
      baseUrl: 'http://payment:3002',
      fetch: async (_url, init) => {
        sent = new Headers(init?.headers)
        return new Response('{}')
      },
    })
    await client.call('GET', '/x', { traceparent: CALLER })
    expect(sent?.get('traceparent')).toBe(CALLER)
    expect(withSpan('x', () => 42)).toBe(42)
    const target = { get: () => 1 }
    expect(traceMethods(target, 'T').get).toBe(target.get)
  })
})

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter()
  let tracing: Tracing
  const apps: FastifyInstance[] = []
  beforeAll(async () => {
    tracing = await startTracing({ service: 'test', exporter })
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()))
    exporter.reset()
  })
  afterAll(async () => {
    await tracing.shutdown()
    expect(isTracing()).toBe(false)
  })
  const spans = () => exporter.getFinishedSpans()
  const named = (name: string): ReadableSpan => {
    const span = spans().find((s) => s.name === name)
    if (!span)
      throw new Error(
        `no span ${name} in ${spans()
          .map((s) => s.name)
          .join(', ')}`,
      )
    return span
  }
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

  it('makes a server span per request, a child of the caller, with its http attributes', async () => {
    const { app } = server()
    apps.push(app)
    app.get('/things/:id', async () => withSpan('inner', async () => ({ ok: true })))
    const res = await app.inject({ url: '/things/7?x=1', headers: { traceparent: CALLER } })
    expect(res.statusCode).toBe(200)
    const span = named('GET /things/:id')
    expect(span.kind).toBe(SpanKind.SERVER)
    expect(span.spanContext().traceId).toBe(CALLER_TRACE)
    expect(parentOf(span)).toBe(CALLER_SPAN)
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/things/:id',
      'url.path': '/things/7',
      'http.response.status_code': 200,
    })
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    expect(span.resource.attributes['service.name']).toBe('test')
    // the handler ran in the span's context
    expect(parentOf(named('inner'))).toBe(span.spanContext().spanId)
  })

  it('runs a handler with a body in the span context too, and starts a trace without a caller', async () => {
    const { app } = server()
    apps.push(app)
    app.post('/things', async (req) => withSpan('inner', async () => req.body))
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 'a' } })
    expect(res.statusCode).toBe(200)
    const span = named('POST /things')
    expect(parentOf(span)).toBeUndefined()
    expect(parentOf(named('inner'))).toBe(span.spanContext().spanId)
    expect(named('inner').spanContext().traceId).toBe(span.spanContext().traceId)
  })

  it('records a failure: the error on a 500, unset on a 4xx; no span for health and metrics', async () => {
    const { app } = server()
    apps.push(app)
    app.get('/boom', async () => {
      throw new Error('broken')
    })
    app.get('/missing', async (_req, reply) => reply.code(404).send({}))
    await app.inject({ url: '/boom' })
    await app.inject({ url: '/missing' })
    await app.inject({ url: '/health/ready' })
    await app.inject({ url: '/metrics' })
    const boom = named('GET /boom')
    expect(boom.status.code).toBe(SpanStatusCode.ERROR)
    expect(boom.events.map((e) => e.name)).toContain('exception')
    expect(boom.attributes['http.response.status_code']).toBe(500)
    expect(named('GET /missing').status.code).toBe(SpanStatusCode.UNSET)
    expect(
      spans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['GET /boom', 'GET /missing'])
  })

  it.each([false, true])(
    'puts trace_id and span_id on log lines while a span is active (plain: %s)',
    async (plain) => {
      const { app, lines, logger } = server(plain)
      apps.push(app)
      app.get('/things/:id', async (req) => {
        req.log.info('from the handler')
        return {}
      })
      await app.inject({ url: '/things/1', headers: { traceparent: CALLER } })
      logger.info('outside any span')
      logger.flush()
      await new Promise((r) => setImmediate(r))
      const span = named('GET /things/:id')
      const ids = { trace_id: CALLER_TRACE, span_id: span.spanContext().spanId }
      expect(lines.find((l) => l.msg === 'from the handler')).toMatchObject(ids)
      if (!plain) expect(lines.find((l) => l.msg === 'request')).toMatchObject(ids)
      expect(lines.find((l) => l.msg === 'outside any span')).not.toHaveProperty('trace_id')
    },
  )

  it('sends a client span of its own as the traceparent of an outgoing call', async () => {
    let sent: Headers | undefined
    const client = new ServiceClient({
      target: 'payment',
      baseUrl: 'http://payment:3002',
      fetch: async (_url, init) => {
        sent = new Headers(init?.headers)
        return new Response('{}', { status: 201 })
      },
    })
    await withSpan('work', () => client.call('POST', '/payments', { body: {}, traceparent: CALLER }))
    const work = named('work')
    const call = named('POST')
    expect(call.kind).toBe(SpanKind.CLIENT)
    expect(parentOf(call)).toBe(work.spanContext().spanId)
    expect(call.attributes).toMatchObject({ 'http.response.status_code': 201, 'peer.service': 'payment' })
    expect(sent?.get('traceparent')).toBe(`00-${work.spanContext().traceId}-${call.spanContext().spanId}-01`)
    // no active span: the given traceparent is the parent
    exporter.reset()
    await client.call('GET', '/payments/1', { traceparent: CALLER })
    expect(parentOf(named('GET'))).toBe(CALLER_SPAN)
    expect(sent?.get('traceparent')).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`))
  })

  it('carries a producer span in the envelope, and handles the event in a consumer span under it', async () => {
    const events = new MemoryEventPublisher<{ 'order.created': { id: string } }>({
      'order.created': { id: 'string' },
    })
    await withSpan('create', () => events.publish('order.created', { id: 'o1' }))
    const event = events.published[0]!
    const producer = named('publish order.created')
    expect(producer.kind).toBe(SpanKind.PRODUCER)
    expect(parentOf(producer)).toBe(named('create').spanContext().spanId)
    expect(event.traceparent).toBe(`00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`)
    // elsewhere, later: a handler of the envelope
    const result = await consumeInSpan(event, 'notification--order_created', () =>
      withSpan('handler', () => 'handled'),
    )
    expect(result).toBe('handled')
    const consumer = named('process order.created')
    expect(consumer.kind).toBe(SpanKind.CONSUMER)
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId)
    expect(parentOf(consumer)).toBe(producer.spanContext().spanId)
    expect(parentOf(named('handler'))).toBe(consumer.spanContext().spanId)
    expect(consumer.attributes).toMatchObject({ 'messaging.message.id': event.id })
    await expect(
      consumeInSpan(event, 'c', () => {
        throw new Error('handler failed')
      }),
    ).rejects.toThrow('handler failed')
    expect(spans().at(-1)?.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('makes a span for each query made in a sampled span, with its text and never its values', async () => {
    // A stand-in with node-postgres's query forms (promise, and callback as pg.Pool#query uses):
    // the wrapper is what is tested. A PGlite here would boot beside the kit's other PGlite test
    // and push its 10 s setup over the limit on a busy 2-core machine.
    const client = {
      database: 'shop',
      host: 'catalog-db',
      port: 5432,
      query(text: string, values?: unknown[], cb?: (err: Error | null, r?: unknown) => void) {
        const result: Promise<unknown> = text.startsWith('SELECT')
          ? Promise.resolve({ rows: [{ secret: values?.[0] }] })
          : Promise.reject(new Error(`syntax error at or near "${text.split(' ')[1]}"`))
        if (!cb) return result
        result.then(
          (r) => cb(null, r),
          (e: Error) => cb(e),
        )
        return undefined
      },
    }
    traceQueries(client)
    await client.query('SELECT 1') // no span active: no query span
    expect(spans()).toHaveLength(0)
    await withSpan('read', async () => {
      expect(await client.query('SELECT $1::text AS secret', ['p4ssw0rd'])).toEqual({
        rows: [{ secret: 'p4ssw0rd' }],
      })
      const err = await new Promise((resolve) => client.query('insert nothing', [], resolve))
      expect(err).toBeInstanceOf(Error)
    })
    const select = named('SELECT')
    expect(select.kind).toBe(SpanKind.CLIENT)
    expect(parentOf(select)).toBe(named('read').spanContext().spanId)
    expect(select.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.query.text': 'SELECT $1::text AS secret',
      'db.operation.name': 'SELECT',
      'db.namespace': 'shop',
      'server.address': 'catalog-db',
      'server.port': 5432,
    })
    expect(JSON.stringify(spans().map((s) => s.attributes))).not.toContain('p4ssw0rd')
    expect(named('INSERT').status.code).toBe(SpanStatusCode.ERROR)
    // work under an unsampled span (the event's traceparent says so): no span at all
    exporter.reset()
    const event = { ...anEvent(), traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` }
    await consumeInSpan(event, 'c', () => client.query('SELECT 2'))
    expect(spans()).toHaveLength(0)
  })

  it("has the gateway send its own span as the upstream's parent", async () => {
    const sent = withSpan('gateway request', () => traceContext({ traceparent: CALLER }))
    const span = named('gateway request')
    expect(sent.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`)
    // outside any span: the caller's, checked, as without tracing
    expect(traceContext({ traceparent: CALLER }).traceparent).toBe(CALLER)
  })

  it("gives a saga's every attempt a span, under the request that started it; a failed one marked", async () => {
    const pg = new PGlite()
    try {
      await createSagaTables(pg)
      const db = drizzle({ client: pg }) as unknown as Database
      const calls: (string | undefined)[] = []
      const saga = defineSaga<{ total: number }>({
        name: 'place-order',
        steps: [
          {
            name: 'reserve',
            call: async () => void calls.push(trace.getActiveSpan()?.spanContext().spanId),
            compensate: async () => undefined,
          },
          {
            name: 'charge',
            retries: 0,
            call: async () => {
              throw new ConflictError('declined')
            },
          },
        ],
      })
      const orchestrator = new SagaOrchestrator({
        db,
        sagas: [saga],
        logger: createLogger('order', 'silent'),
        pollMs: 50,
      })
      await orchestrator.run()
      try {
        // started in a request's span, as the entry route starts it: its first attempts run there
        const id = await withSpan('POST /orders', () => {
          const started = inTransaction(db, (tx) => orchestrator.start(tx, saga, { total: 5 }))
          return started.then((sagaId) => (orchestrator.wake(sagaId), sagaId))
        })
        expect(await orchestrator.wait(id, 5000)).toMatchObject({
          state: 'compensated',
          failedStep: 'charge',
        })
      } finally {
        await orchestrator.close()
      }
      const reserve = named('saga place-order: reserve')
      expect(reserve.attributes).toMatchObject({
        'saga.name': 'place-order',
        'saga.step': 'reserve',
        'saga.phase': 'call',
        'saga.attempt': 1,
      })
      // the step's own work runs in the attempt's span
      expect(calls).toEqual([reserve.spanContext().spanId])
      expect(parentOf(reserve)).toBe(named('POST /orders').spanContext().spanId)
      expect(named('saga place-order: charge').status.code).toBe(SpanStatusCode.ERROR)
      expect(named('saga place-order: reserve (compensation)').status.code).toBe(SpanStatusCode.UNSET)
    } finally {
      await pg.close()
    }
  })

  it('gives each domain operation a span (traceMethods)', async () => {
    class Orders {
      async get(id: string) {
        return { id }
      }
      async fail() {
        throw new Error('nope')
      }
    }
    class SpecialOrders extends Orders {
      get count() {
        throw new Error('a getter is never called')
      }
    }
    const orders = traceMethods(new SpecialOrders(), 'OrderService')
    expect(await orders.get('a')).toEqual({ id: 'a' })
    await expect(orders.fail()).rejects.toThrow('nope')
    expect(named('OrderService.get').status.code).toBe(SpanStatusCode.UNSET)
    expect(named('OrderService.fail').status.code).toBe(SpanStatusCode.ERROR)
  })
})

describe('sampling from OTEL_TRACES_SAMPLER', () => {
  const exporter = new InMemorySpanExporter()
  let tracing: Tracing
  beforeAll(async () => {
    vi.stubEnv('OTEL_TRACES_SAMPLER', 'parentbased_traceidratio')
    vi.stubEnv('OTEL_TRACES_SAMPLER_ARG', '0')
    tracing = await startTracing({ service: 'test', exporter })
  })
  afterAll(async () => {
    await tracing.shutdown()
    vi.unstubAllEnvs()
  })

  it('samples no new trace at ratio 0, and follows a sampled caller', async () => {
    const { app, lines, logger } = server()
    app.get('/x', async (req) => {
      req.log.info('in x')
      return {}
    })
    await app.inject({ url: '/x' })
    expect(exporter.getFinishedSpans()).toHaveLength(0)
    await app.inject({ url: '/x', headers: { traceparent: CALLER } })
    expect(exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).toEqual([CALLER_TRACE])
    await app.close()
    logger.flush()
    await new Promise((r) => setImmediate(r))
    // an unsampled request's lines still carry its (unexported) trace id, for correlation
    expect(lines.filter((l) => l.msg === 'in x').every((l) => typeof l.trace_id === 'string')).toBe(true)
  })
})
