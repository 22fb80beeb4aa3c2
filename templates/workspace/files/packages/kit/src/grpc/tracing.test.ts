// gRPC spans with tracing on: a client span whose context travels in the metadata, and the
// server span under it, in whose context the handler runs.
import { makeGenericClientConstructor, status, type ServiceDefinition } from '@grpc/grpc-js'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { NotFoundError } from '../errors.js'
import { HealthRegistry } from '../health.js'
import { createLogger } from '../logger.js'
import { Metrics } from '../metrics.js'
import { startTracing, withSpan, type Tracing } from '../tracing.js'
import { ResilientGrpcClient } from './client.js'
import { currentCallContext } from './context.js'
import { GrpcServer } from './server.js'
import { GrpcCallError } from './status.js'

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>,
}
const method = (name: string) => ({
  path: `/test.v1.Echo/${name}`,
  requestStream: false as const,
  responseStream: false as const,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize as (b: Buffer) => { missing?: boolean },
  responseSerialize: json.serialize as (v: { activeSpan?: string; traceparent?: string }) => Buffer,
  responseDeserialize: json.deserialize,
})
const EchoService = { get: method('Get') } satisfies ServiceDefinition
const EchoClient = makeGenericClientConstructor(EchoService, 'test.v1.Echo')

const exporter = new InMemorySpanExporter()
let tracing: Tracing
let server: GrpcServer
let client: ResilientGrpcClient
beforeAll(async () => {
  tracing = await startTracing({ service: 'echo', exporter })
  const logger = createLogger('echo', 'info', new Writable({ write: (_c, _e, cb) => cb() }))
  server = new GrpcServer({
    logger,
    metrics: new Metrics('echo', { processMetrics: false }),
    health: new HealthRegistry(),
  })
  server.addService(EchoService, {
    get: async (req) => {
      if (req.missing) throw new NotFoundError('no such thing')
      return {
        activeSpan: trace.getActiveSpan()?.spanContext().spanId,
        traceparent: currentCallContext()?.traceparent,
      }
    },
  })
  const port = await server.listen(0, '127.0.0.1')
  client = new ResilientGrpcClient(
    EchoClient,
    { get: { idempotent: true } },
    { address: `127.0.0.1:${port}` },
  )
})
afterAll(async () => {
  client.close()
  await server.close(100)
  await tracing.shutdown()
})

it('puts the server span under the client span, across the metadata', async () => {
  const res = await withSpan('caller', () =>
    client.unary<object, { activeSpan?: string; traceparent?: string }>('get', {}),
  )
  const spans = exporter.getFinishedSpans()
  const caller = spans.find((s) => s.name === 'caller')!
  const out = spans.find((s) => s.kind === SpanKind.CLIENT)!
  const served = spans.find((s) => s.kind === SpanKind.SERVER)!
  expect(out.name).toBe('test.v1.Echo/Get')
  expect(served.name).toBe('test.v1.Echo/Get')
  expect(out.parentSpanContext?.spanId).toBe(caller.spanContext().spanId)
  expect(served.parentSpanContext?.spanId).toBe(out.spanContext().spanId)
  expect(served.spanContext().traceId).toBe(caller.spanContext().traceId)
  expect(served.attributes).toMatchObject({
    'rpc.system': 'grpc',
    'rpc.method': 'Get',
    'rpc.grpc.status_code': 0,
  })
  // the handler runs in the server span; the call context carries its traceparent
  expect(res.activeSpan).toBe(served.spanContext().spanId)
  expect(res.traceparent).toContain(served.spanContext().spanId)
})

it('marks the client span failed and leaves a NOT_FOUND server span unset', async () => {
  exporter.reset()
  await expect(client.unary('get', { missing: true })).rejects.toBeInstanceOf(GrpcCallError)
  const spans = exporter.getFinishedSpans()
  const out = spans.find((s) => s.kind === SpanKind.CLIENT)!
  const served = spans.find((s) => s.kind === SpanKind.SERVER)!
  expect(out.attributes['rpc.grpc.status_code']).toBe(status.NOT_FOUND)
  expect(out.status.code).toBe(SpanStatusCode.ERROR)
  expect(served.status.code).toBe(SpanStatusCode.UNSET)
})
