import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'

/**
 * Exports one request's trace through the OpenTelemetry SDK's own protobuf exporter, as the
 * stack's services would: gateway (server, client) -> order (server, client) -> payment (server,
 * failing), each service with its own provider. Returns the trace id.
 */
export async function exportCheckoutTrace(otlpUrl: string): Promise<string> {
  const providers = ['gateway', 'order', 'payment'].map(
    (service) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` }))],
      }),
  )
  const [gw, order, payment] = providers.map((p) => p.getTracer('msvc-test'))
  const root = gw!.startSpan('POST /api/orders', {
    kind: SpanKind.SERVER,
    attributes: { 'http.route': '/api/orders' },
  })
  const gwClient = gw!.startSpan('POST', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root))
  const orderServer = order!.startSpan(
    'POST /orders',
    // a span attribute carrying markup: the page must show it as text
    { kind: SpanKind.SERVER, attributes: { note: '<img src=x onerror="window.__pwned=1">' } },
    trace.setSpanContext(context.active(), gwClient.spanContext()),
  )
  const orderClient = order!.startSpan(
    'POST',
    { kind: SpanKind.CLIENT },
    trace.setSpan(context.active(), orderServer),
  )
  const paymentServer = payment!.startSpan(
    'POST /payments',
    { kind: SpanKind.SERVER },
    trace.setSpanContext(context.active(), orderClient.spanContext()),
  )
  paymentServer.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' })
  for (const s of [paymentServer, orderClient, orderServer, gwClient, root]) s.end()
  await Promise.all(providers.map((p) => p.forceFlush()))
  await Promise.all(providers.map((p) => p.shutdown()))
  return root.spanContext().traceId
}

/** A stand-in service: /health/ready (200 until `down`), and /metrics in the kit's series. */
export async function startFakeService(): Promise<{
  port: number
  down: boolean
  requests: number
  close(): Promise<void>
}> {
  const state = { port: 0, down: false, requests: 0, close: async () => {} }
  const server: Server = createServer((req, res) => {
    if (req.url === '/health/ready') return void res.writeHead(state.down ? 503 : 200).end('{}')
    if (req.url === '/metrics') {
      state.requests += 50
      return void res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(
          [
            `http_requests_total{route="/orders",method="GET",status_code="200"} ${state.requests}`,
            `http_request_duration_seconds_bucket{route="/orders",method="GET",status_code="200",le="0.005"} ${state.requests / 2}`,
            `http_request_duration_seconds_bucket{route="/orders",method="GET",status_code="200",le="0.05"} ${state.requests}`,
            `http_request_duration_seconds_bucket{route="/orders",method="GET",status_code="200",le="+Inf"} ${state.requests}`,
            'circuit_breaker_state{target="payment"} 1',
            '',
          ].join('\n'),
        )
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  state.port = (server.address() as AddressInfo).port
  state.close = () =>
    new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    })
  return state
}

/** A workspace of three HTTP services; order's port is `orderPort` (a fake service's). */
export const dashboardYaml = (orderPort: number) => `name: dashshop
services:
  order:
    capabilities: [http, events]
    ports: { http: ${orderPort} }
    calls: [payment]
    publishes: [order.created]
    env: { PAYMENT_API_KEY: "sk_live_abcdef", CURRENCY: EUR }
  payment:
    capabilities: [http]
    ports: { http: 3902 }
  notification:
    capabilities: [events]
    ports: { http: 3903 }
    subscribes: [order.created]
events:
  order.created: { schema: { id: string } }
`
