import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SpanStore } from '../../src/core/dashboard/spans.js'
import { startOtlpReceiver } from '../../src/io/dashboard/otlp-receiver.js'
import { HealthRegistry } from '../../templates/workspace/files/packages/kit/src/health.js'
import { ServiceClient } from '../../templates/workspace/files/packages/kit/src/http-client.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'
import { Metrics } from '../../templates/workspace/files/packages/kit/src/metrics.js'
import {
  createHttpServer,
  type FastifyInstance,
} from '../../templates/workspace/files/packages/kit/src/server.js'
import { startTracing, type Tracing } from '../../templates/workspace/files/packages/kit/src/tracing.js'

// Issue #18: the kit's tracing as a service runs it, configured by the OTEL_* environment alone,
// exporting over OTLP/HTTP (protobuf, batched) to msvc's own receiver: the spans of one request
// across two kit servers arrive in the dashboard's SpanStore with their parentage. Then the same
// with nothing listening: requests are served, nothing is logged, nothing throws.

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c'
const CALLER_SPAN = 'b7ad6b7169203331'

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})

function kitServer(lines: string[] = []): FastifyInstance {
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      cb()
    },
  })
  const app = createHttpServer({
    service: 'order',
    logger: createLogger('order', 'info', out),
    metrics: new Metrics('order', { processMetrics: false }),
    health: new HealthRegistry(),
  })
  cleanups.push(() => app.close())
  return app
}

/** Starts tracing from the environment, as a service's main.ts does. */
async function traceFromEnv(env: Record<string, string>): Promise<Tracing> {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v)
  const tracing = await startTracing({ service: 'fallback-name' })
  expect(tracing.enabled).toBe(true)
  cleanups.push(() => tracing.shutdown())
  return tracing
}

describe('kit tracing to the dashboard receiver', () => {
  it("exports a request's spans over OTLP/HTTP, found in the SpanStore with their parents", async () => {
    const store = new SpanStore()
    const receiver = await startOtlpReceiver({ store, port: 0 })
    cleanups.push(() => receiver.close())
    const tracing = await traceFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'order',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=dev',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1',
    })

    // payment answers; order calls it while serving
    const payment = kitServer()
    payment.get('/payments/:id', async (request) => ({ id: (request.params as { id: string }).id }))
    await payment.listen({ port: 0, host: '127.0.0.1' })
    const client = new ServiceClient({
      target: 'payment',
      baseUrl: `http://127.0.0.1:${(payment.server.address() as AddressInfo).port}`,
    })
    cleanups.push(() => client.close())
    const order = kitServer()
    order.get('/orders/:id', async (request) => {
      const paid = await client.call('GET', `/payments/${(request.params as { id: string }).id}`)
      return { paid: paid.body }
    })
    const res = await order.inject({
      url: '/orders/42',
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    })
    expect(res.json()).toEqual({ paid: { id: '42' } })

    await tracing.flush()
    const found = store.getTrace(CALLER_TRACE)
    expect(found).toBeDefined()
    const spans = found!.spans
    const byName = (name: string, kind: string) => spans.find((s) => s.name === name && s.kind === kind)
    const orderSpan = byName('GET /orders/:id', 'server')!
    const callSpan = byName('GET', 'client')!
    const paymentSpan = byName('GET /payments/:id', 'server')!
    expect(orderSpan.parentSpanId).toBe(CALLER_SPAN)
    expect(callSpan.parentSpanId).toBe(orderSpan.spanId)
    expect(paymentSpan.parentSpanId).toBe(callSpan.spanId)
    expect(orderSpan.service).toBe('order')
    expect(orderSpan.resource['deployment.environment.name']).toBe('dev')
    expect(orderSpan.attributes).toMatchObject({
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
    })
    expect(receiver.stats.refused).toEqual({})
  })

  it('keeps serving, silently, when nothing listens at the endpoint', async () => {
    // a port that was just free: connections are refused
    const probe = kitServer()
    await probe.listen({ port: 0, host: '127.0.0.1' })
    const port = (probe.server.address() as AddressInfo).port
    await probe.close()
    const stderr = vi.spyOn(process.stderr, 'write')
    const consoleError = vi.spyOn(console, 'error')
    const consoleWarn = vi.spyOn(console, 'warn')
    const tracing = await traceFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: '10',
    })
    const lines: string[] = []
    const app = kitServer(lines)
    app.get('/things/:id', async () => ({ ok: true }))
    for (let i = 0; i < 200; i++) expect((await app.inject({ url: `/things/${i}` })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 300)) // several failed exports
    await tracing.flush() // never rejects
    // shutdown is not held up by the exporter's retries (main.ts runs it within SHUTDOWN_TIMEOUT)
    const t0 = Date.now()
    await tracing.shutdown()
    expect(Date.now() - t0).toBeLessThan(3000)
    await new Promise((r) => setImmediate(r))
    expect(stderr).not.toHaveBeenCalled()
    expect(consoleError).not.toHaveBeenCalled()
    expect(consoleWarn).not.toHaveBeenCalled()
    // the service's own lines only: one per request
    expect(lines.every((l) => (JSON.parse(l) as { msg: string }).msg === 'request')).toBe(true)
    expect(lines).toHaveLength(200)
  })
})
