import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { context, SpanKind, SpanStatusCode, trace, type Span as ApiSpan } from '@opentelemetry/api'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import otlpRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SpanStore, toWaterfall } from '../../src/core/dashboard/spans.js'
import {
  createOtlpHandler,
  createSourceFilter,
  parseCidr,
  startOtlpReceiver,
  type OtlpReceiverOptions,
} from '../../src/io/dashboard/otlp-receiver.js'
import { UserError } from '../../src/errors.js'

// Issue #18: the dashboard's OTLP/HTTP receiver, fed by the OpenTelemetry JS SDK's own exporters
// (protobuf and JSON), then its refusals one by one. Everything listens and sends on loopback.

type ExporterConfig = NonNullable<ConstructorParameters<typeof ProtoExporter>[0]>
const GZIP = 'gzip' as NonNullable<ExporterConfig['compression']>
// the generated root is typed as a bare protobufjs Root: the two messages the tests decode
type Message = { encode(m: object): { finish(): Uint8Array }; decode(b: Uint8Array): Record<string, unknown> }
const collector = (
  otlpRoot as unknown as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, Message> }> } }
  }
).opentelemetry.proto.collector
const TraceResponse = collector.trace!.v1.ExportTraceServiceResponse!
const LogsRequest = collector.logs!.v1.ExportLogsServiceRequest!

/** A receiver on 127.0.0.1 that also notes each request's headers, through the mountable handler. */
async function startRecording(options: Omit<OtlpReceiverOptions, 'host' | 'port'>) {
  const headers: IncomingHttpHeaders[] = []
  const handler = createOtlpHandler(options)
  const server: Server = createServer((req, res) => {
    headers.push(req.headers)
    if (!handler.handle(req, res)) res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, headers, stats: handler.stats, close: () => new Promise((r) => server.close(r)) }
}

/**
 * Exports one request's trace through the real SDK: gateway (server, then client) -> order
 * (server, then an internal step that fails), two services, each its own provider and exporter.
 */
async function exportTrace(makeExporter: () => SpanExporter): Promise<string> {
  const providers = ['gateway', 'order'].map(
    (service) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.2.3' }),
        spanProcessors: [new BatchSpanProcessor(makeExporter())],
      }),
  )
  const [gw, order] = providers.map((p) => p.getTracer('msvc-test', '0.1.0'))
  const under = (parent: ApiSpan) => trace.setSpan(context.active(), parent)
  const root = gw!.startSpan('GET /api/orders/:id', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'http.route': '/api/orders/:id',
    },
  })
  const client = gw!.startSpan(
    'GET',
    { kind: SpanKind.CLIENT, attributes: { 'server.port': 3001 } },
    under(root),
  )
  // the hop between services: order only knows the client span's context, as from a traceparent
  const remote = trace.setSpanContext(context.active(), client.spanContext())
  const server = order!.startSpan('GET /orders/:id', { kind: SpanKind.SERVER }, remote)
  const step = order!.startSpan(
    'reserve stock',
    { attributes: { ratio: 0.25, retried: true, tags: ['a', 'b'] } },
    under(server),
  )
  step.addEvent('exception', { 'exception.message': 'out of stock' })
  step.setStatus({ code: SpanStatusCode.ERROR, message: 'out of stock' })
  for (const s of [step, server, client, root]) s.end()
  await Promise.all(providers.map((p) => p.forceFlush()))
  await Promise.all(providers.map((p) => p.shutdown()))
  return root.spanContext().traceId
}

function expectTheTrace(store: SpanStore, traceId: string) {
  const [summary] = store.listTraces({ traceId })
  expect(summary).toMatchObject({
    traceId,
    rootName: 'GET /api/orders/:id',
    rootService: 'gateway',
    spanCount: 4,
    errorCount: 1,
    partial: false,
  })
  expect([...summary!.services].sort()).toEqual(['gateway', 'order'])
  const { spans } = store.getTrace(traceId)!
  const rows = toWaterfall(spans)
  expect(rows.map((r) => [r.depth, r.span.service, r.span.kind, r.span.name])).toEqual([
    [0, 'gateway', 'server', 'GET /api/orders/:id'],
    [1, 'gateway', 'client', 'GET'],
    [2, 'order', 'server', 'GET /orders/:id'],
    [3, 'order', 'internal', 'reserve stock'],
  ])
  expect(rows.some((r) => r.orphan)).toBe(false)
  const [root, , server, step] = rows.map((r) => r.span)
  expect(root!.attributes).toEqual({
    'http.request.method': 'GET',
    'http.response.status_code': 200,
    'http.route': '/api/orders/:id',
  })
  expect(root!.resource).toMatchObject({ 'service.name': 'gateway', 'service.version': '1.2.3' })
  expect(root!.scope).toBe('msvc-test')
  expect(root!.parentSpanId).toBeUndefined()
  expect(step).toMatchObject({
    status: 'error',
    statusMessage: 'out of stock',
    attributes: { ratio: 0.25, retried: true, tags: '["a","b"]' },
    events: [{ name: 'exception', attributes: { 'exception.message': 'out of stock' } }],
  })
  // times: ms since the epoch, this minute's, and a child inside its parent, give or take the SDK's
  // clock: each span anchors Date.now() (whole milliseconds) on its own, so ends differ by up to 1 ms
  expect(Math.abs(root!.startMs - Date.now())).toBeLessThan(60_000)
  expect(step!.startMs).toBeGreaterThanOrEqual(server!.startMs - 2)
  expect(step!.startMs + step!.durationMs).toBeLessThanOrEqual(server!.startMs + server!.durationMs + 2)
  expect(step!.durationMs).toBeGreaterThan(0)
}

/** One raw POST to 127.0.0.1, from `localAddress` if given; the status, headers and body. */
function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string | number>,
  opts: { localAddress?: string; chunked?: boolean; method?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'POST', headers, localAddress: opts.localAddress },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        )
        res.on('error', reject)
      },
    )
    // a body refused mid-way makes the server close the socket while we write: that is expected
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
    )
    if (opts.chunked) {
      const b = Buffer.from(body)
      for (let i = 0; i < b.length; i += 1024) req.write(b.subarray(i, i + 1024))
      req.end()
    } else req.end(body)
  })
}

const PROTO = { 'content-type': 'application/x-protobuf' }
const JSON_TYPE = { 'content-type': 'application/json' }
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0')
const jsonSpans = (n: number, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payment' } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: n }, (_, i) => ({
              traceId: hex(0xabc, 32),
              spanId: hex(i + 1, 16),
              name: `step ${i}`,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000250000000',
              ...over,
            })),
          },
        ],
      },
    ],
  })

describe('the OTLP receiver, fed by the OpenTelemetry SDK exporters (issue 18)', () => {
  let store: SpanStore
  let rec: Awaited<ReturnType<typeof startRecording>>
  beforeAll(async () => {
    store = new SpanStore()
    rec = await startRecording({ store })
  })
  afterAll(() => rec.close())

  it('takes a trace across two services from the protobuf exporter', async () => {
    const id = await exportTrace(() => new ProtoExporter({ url: `${rec.url}/v1/traces` }))
    expect(rec.headers.at(-1)!['content-type']).toBe('application/x-protobuf')
    expectTheTrace(store, id)
  })

  it('takes the same from the JSON exporter (hex ids, int64 as strings)', async () => {
    const id = await exportTrace(() => new JsonExporter({ url: `${rec.url}/v1/traces` }))
    expect(rec.headers.at(-1)!['content-type']).toBe('application/json')
    expectTheTrace(store, id)
  })

  it('takes gzip, from both exporters', async () => {
    const before = rec.headers.length
    const a = await exportTrace(() => new ProtoExporter({ url: `${rec.url}/v1/traces`, compression: GZIP }))
    const b = await exportTrace(() => new JsonExporter({ url: `${rec.url}/v1/traces`, compression: GZIP }))
    expect(rec.headers.slice(before).map((h) => h['content-encoding'])).toEqual([
      'gzip',
      'gzip',
      'gzip',
      'gzip',
    ])
    expectTheTrace(store, a)
    expectTheTrace(store, b)
    expect(rec.stats).toMatchObject({ rejectedSpans: 0, refused: {} })
  })

  it('answers a partial success, in the request encoding, when some spans have bad ids', async () => {
    const bad = JSON.parse(jsonSpans(3)) as {
      resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[]
    }
    bad.resourceSpans[0]!.scopeSpans[0]!.spans[1]!.spanId = 'xyz'
    const j = await post(`${rec.url}/v1/traces`, JSON.stringify(bad), JSON_TYPE)
    expect(j.status).toBe(200)
    expect(j.headers['content-type']).toBe('application/json')
    expect(JSON.parse(j.body.toString())).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: 'span "step 1" has no valid spanId (8 bytes)' },
    })
    // the same as protobuf: a span without a trace id
    const { ExportTraceServiceRequest } = collector.trace!.v1
    const body = ExportTraceServiceRequest!
      .encode({
        resourceSpans: [{ scopeSpans: [{ spans: [{ spanId: Buffer.alloc(8, 1), name: 'lost' }] }] }],
      })
      .finish()
    const p = await post(`${rec.url}/v1/traces`, body, PROTO)
    expect(p.status).toBe(200)
    expect(p.headers['content-type']).toBe('application/x-protobuf')
    const answer = TraceResponse.decode(p.body) as {
      partialSuccess: { rejectedSpans: { low: number }; errorMessage: string }
    }
    expect(answer.partialSuccess.rejectedSpans.low).toBe(1)
    expect(answer.partialSuccess.errorMessage).toBe('span "lost" has no valid traceId (16 bytes)')
  })

  it('accepts and counts log records, protobuf and JSON', async () => {
    const logs = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'a' } }, {}] }] }] }
    const p = await post(`${rec.url}/v1/logs`, LogsRequest.encode(logs).finish(), PROTO)
    const j = await post(`${rec.url}/v1/logs`, JSON.stringify(logs), JSON_TYPE)
    expect([p.status, j.status, j.body.toString()]).toEqual([200, 200, '{}'])
    expect(p.body.length).toBe(0) // an empty ExportLogsServiceResponse: full success
    expect(rec.stats.logRecords).toBe(4)
  })
})

describe('what the receiver refuses', () => {
  let store: SpanStore
  let rec: Awaited<ReturnType<typeof startRecording>>
  const MAX = 4096
  beforeAll(async () => {
    store = new SpanStore()
    rec = await startRecording({ store, maxBodyBytes: MAX })
  })
  afterAll(() => rec.close())

  it.each([
    ['a declared length over the limit', 'x'.repeat(MAX + 1), JSON_TYPE, false, /larger than 4096 bytes/],
    ['a chunked body over the limit', 'x'.repeat(MAX * 4), JSON_TYPE, true, /larger than 4096 bytes/],
    [
      'gzip that inflates over the limit',
      gzipSync(Buffer.alloc(MAX * 100, 32)),
      { ...JSON_TYPE, 'content-encoding': 'gzip' },
      false,
      /inflates to more than 4096 bytes/,
    ],
  ])('413 for %s', async (_, body, headers, chunked, message) => {
    const r = await post(`${rec.url}/v1/traces`, body, headers, { chunked })
    expect(r.status).toBe(413)
    expect(r.body.toString()).toMatch(message)
  })

  it.each([
    [
      'text/plain',
      { 'content-type': 'text/plain' },
      'content-type "text/plain": send application/x-protobuf or application/json',
    ],
    ['no content type', {}, 'content-type "": send application/x-protobuf or application/json'],
    ['brotli', { ...PROTO, 'content-encoding': 'br' }, 'content-encoding "br": send gzip or none'],
  ])('415 for %s', async (_, headers, message) => {
    const r = await post(`${rec.url}/v1/traces`, '{}', headers)
    expect([r.status, r.body.toString().trim()]).toEqual([415, message])
  })

  it.each([
    [
      'protobuf that is not',
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      PROTO,
      /^the body is not an OTLP\/protobuf ExportTraceServiceRequest: index out of range/,
    ],
    [
      'JSON that is not',
      '{"resourceSpans": [',
      JSON_TYPE,
      /^the body is not an OTLP\/JSON ExportTraceServiceRequest: /,
    ],
    ['a JSON array', '[]', JSON_TYPE, /: expected a JSON object$/],
    ['resourceSpans not a list', '{"resourceSpans": {}}', JSON_TYPE, /: resourceSpans is not an array$/],
    ['gzip that is not', 'plain', { ...PROTO, 'content-encoding': 'gzip' }, /^the body is not valid gzip: /],
  ])('400 for %s', async (_, body, headers, message) => {
    const r = await post(`${rec.url}/v1/traces`, body, headers)
    expect(r.status).toBe(400)
    expect(r.body.toString().trim()).toMatch(message)
  })

  it('404 for another path, 405 for another method', async () => {
    expect((await post(`${rec.url}/v1/metrics`, '{}', JSON_TYPE)).status).toBe(404)
    const r = await post(`${rec.url}/v1/traces`, '', {}, { method: 'GET' })
    expect([r.status, r.headers.allow]).toEqual([405, 'POST'])
  })

  it('took nothing from any of them, and counted each refusal', () => {
    expect(store.stats.spans).toBe(0)
    expect(rec.stats.refused).toEqual({ 400: 5, 405: 1, 413: 3, 415: 3 })
  })
})

describe('who may export', () => {
  it.each([
    ['127.0.0.1', [], true],
    ['127.8.9.10', [], true],
    ['::1', [], true],
    ['::ffff:127.0.0.1', [], true],
    ['172.18.0.5', [], false],
    ['172.18.0.5', ['172.18.0.0/16'], true],
    ['::ffff:172.18.0.5', ['172.18.0.0/16'], true],
    ['172.19.0.5', ['172.18.0.0/16'], false],
    ['10.0.0.7', ['10.0.0.7'], true],
    ['fd00::5', ['fd00::/8'], true],
    ['fe80::1', ['fd00::/8'], false],
    ['192.168.1.1', [], false],
    ['', [], false],
  ])('%s with %j: %s', (address, allow, want) => {
    expect(createSourceFilter(allow)(address || undefined)).toBe(want)
  })

  it('refuses loopback too when told to', () => {
    expect(createSourceFilter(['172.18.0.0/16'], false)('127.0.0.1')).toBe(false)
  })

  it.each(['172.18.0.0/33', '172.18.0/16', 'docker', '172.18.0.0/16/2', 'fd00::/129', '10.0.0.0/x'])(
    'says %j is not a CIDR block',
    (cidr) => {
      expect(() => parseCidr(cidr)).toThrow(UserError)
      expect(() => parseCidr(cidr)).toThrow(`${JSON.stringify(cidr)} is not a CIDR block`)
    },
  )

  it('answers 403 to a source outside the list, judged by the bound address of a real request', async () => {
    // the receiver takes 127.0.0.2 only; the same request from 127.0.0.1 is refused
    const receiver = await startOtlpReceiver({
      store: new SpanStore(),
      port: 0,
      allowLoopback: false,
      allow: ['127.0.0.2/32'],
    })
    try {
      const url = `${receiver.url}/v1/traces`
      const refused = await post(url, jsonSpans(1), JSON_TYPE, { localAddress: '127.0.0.1' })
      expect([refused.status, refused.body.toString().trim()]).toEqual([
        403,
        "127.0.0.1 may not export to msvc's dashboard",
      ])
      const taken = await post(url, jsonSpans(1), JSON_TYPE, { localAddress: '127.0.0.2' })
      expect(taken.status).toBe(200)
      expect(receiver.stats).toMatchObject({ spans: 1, refused: { 403: 1 } })
    } finally {
      await receiver.close()
    }
  })
})

describe('startOtlpReceiver', () => {
  const open: { close(): Promise<void> }[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()))
  })

  it('listens on 127.0.0.1 by default and answers 404 elsewhere', async () => {
    const r = await startOtlpReceiver({ store: new SpanStore(), port: 0 })
    open.push(r)
    expect(r.host).toBe('127.0.0.1')
    expect(r.url).toBe(`http://127.0.0.1:${r.port}`)
    expect((await post(`${r.url}/`, '', {}, { method: 'GET' })).status).toBe(404)
  })

  it('says so in one line when its port is taken', async () => {
    const a = await startOtlpReceiver({ store: new SpanStore(), port: 0 })
    open.push(a)
    const b = startOtlpReceiver({ store: new SpanStore(), port: a.port })
    await expect(b).rejects.toThrow(UserError)
    await expect(b).rejects.toThrow(`the OTLP receiver's port 127.0.0.1:${a.port} is in use`)
  })
})
