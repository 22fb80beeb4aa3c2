#!/usr/bin/env node
// The dashboard's OTLP/HTTP receiver (issue #18): how many spans a second it ingests and how much
// memory it holds once its store is full. Targets: at least 5,000 spans/s, and RSS under 200 MB at
// the default retention (core/dashboard/spans.ts, DEFAULT_RETENTION) while it ingests them.
// Two processes over 127.0.0.1, each pinned to a core when taskset is there:
//  - the receiver (core 1): startOtlpReceiver with a default SpanStore, in a process run with
//    RECEIVER_NODE_FLAGS (as the dashboard's is to be: see their comment); it samples its RSS every
//    100 ms and reports, over IPC, its peaks (overall, and once the store was full), its CPU time
//    and its store's figures;
//  - the sender (core 0): the OpenTelemetry SDK's own exporters (exporter-trace-otlp-proto, and
//    exporter-trace-otlp-http for JSON, the peer in the same run), fed with spans the SDK made:
//    traces of 8 spans over 4 services, ~10 attributes a span, 512 spans an export.
// Two kinds of round, each with a fresh receiver:
//  - as fast as it goes: SPANS spans (twice the retention, so the store fills, then drops), INFLIGHT
//    exports at a time; protobuf and JSON alternate. The spans/s are those the receiver accepted,
//    from the first export to the last answer; the receiver's CPU a span tells how far one core
//    would go with a faster sender (the SDK making spans is the slower side here).
//  - paced at RATE spans/s (protobuf): the store fills, then 10 s more; the RSS target is judged
//    on the peak RSS once the store was full.
// No dist/ entry point reaches the receiver yet (nor has a chunk of the build a stable name), so
// the bench bundles it from src/ into bench/out/ as scripts/build.mjs does: no build is needed,
// and none can be stale.
// Usage: node bench/otlp-receiver.mjs   (env: ROUNDS, SPANS, INFLIGHT, RATE, RETENTION=maxSpans)
import { execFileSync, fork } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { alternate, fail, median, rounds, setting, smokeBanner, SMOKE } from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
const role = process.argv[2]
if (role === 'receiver') await runReceiver(JSON.parse(process.argv[3]))
else if (role === 'sender') await runSender(JSON.parse(process.argv[3]))
else await main()

async function main() {
  smokeBanner('otlp-receiver')
  const ROUNDS = rounds()
  // smoke: a small ring, so that dropping runs too
  const RETENTION = SMOKE ? 2_000 : process.env.RETENTION ? setting('RETENTION', 0, 0) : undefined
  const SPANS = setting('SPANS', 200_000, 5_120)
  const INFLIGHT = setting('INFLIGHT', 4, 2)
  const RATE = setting('RATE', 5_000, 5_000)
  const dir = await bundleReceiver()
  // the receiver runs with the Node flags the dashboard's process is to run with
  const { RECEIVER_NODE_FLAGS } = await import(pathToFileURL(`${dir}receiver.mjs`).href)
  const taskset = (() => {
    try {
      execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()

  /** One round: a fresh receiver, one sender; the sender's and the receiver's figures. */
  async function round(encoding, load) {
    const receiver = start('receiver', { dir, maxSpans: RETENTION }, 1)
    let sender
    try {
      const { port, maxSpans } = await receiver.next('ready')
      const url = `http://127.0.0.1:${port}/v1/traces`
      // paced: enough spans to fill the store, then ten more seconds of them
      const spans = load === 'max' ? SPANS : maxSpans + RATE * (SMOKE ? 0.2 : 10)
      sender = start(
        'sender',
        { url, encoding, spans, inflight: load === 'max' ? INFLIGHT : 1, rate: load === 'max' ? 0 : RATE },
        0,
      )
      const sent = await sender.next('done')
      const r = await receiver.ask('stats')
      if (r.spans !== sent.accepted)
        fail(`the receiver counted ${r.spans} spans, the sender had ${sent.accepted} accepted`)
      return { ...sent, ...r, rate: sent.accepted / (sent.ms / 1000) }
    } finally {
      sender?.kill()
      receiver.kill()
    }
  }
  const max = await alternate(ROUNDS, ['protobuf', 'json'], (encoding) => round(encoding, 'max'))
  const paced = await alternate(ROUNDS, ['protobuf'], (encoding) => round(encoding, 'paced'))

  const mb = (b) => (b / 1024 / 1024).toFixed(0)
  const row = (name, rs) => {
    const m = (f) => median(rs.map(f))
    return {
      name,
      rate: m((r) => r.rate),
      peak: m((r) => r.peakRss),
      full: m((r) => r.peakRssFull),
      heap: m((r) => r.heapAfterGc),
      estimate: m((r) => r.storeBytes),
      held: m((r) => r.held),
      cpuUs: m((r) => r.cpuUs / r.spans),
    }
  }
  const rows = [
    row('protobuf, as fast as it goes', max.protobuf),
    row('json, as fast as it goes', max.json),
    row(`protobuf, paced at ${RATE}/s`, paced.protobuf),
  ]
  const [proto, json, steady] = rows
  console.log(
    `otlp-receiver: exports of 512 spans (8-span traces, 4 services, ~10 attributes a span), ${ROUNDS} round(s) each, medians;` +
      ` fast: ${SPANS} spans, ${INFLIGHT} exports in flight; paced: the store filled, then 10 s more` +
      `${taskset ? '; receiver on core 1, sender on core 0' : ''}; Node ${process.version}, receiver flags ${RECEIVER_NODE_FLAGS.join(' ')}`,
  )
  console.log(
    `store: full at ${proto.held} spans (${RETENTION ? `maxSpans ${RETENTION}` : 'the default retention'}); RSS "full": the peak once it was full`,
  )
  console.log(
    'round                             spans/s  receiver CPU µs/span  peak RSS MB  RSS full MB  heap after GC MB  store estimate MB',
  )
  for (const r of rows)
    console.log(
      `${r.name.padEnd(30)} ${r.rate.toFixed(0).padStart(10)} ${r.cpuUs.toFixed(1).padStart(21)} ${mb(r.peak).padStart(12)} ${mb(r.full).padStart(12)} ${mb(r.heap).padStart(17)} ${mb(r.estimate).padStart(18)}`,
    )
  console.log(
    `json / protobuf: throughput x${(json.rate / proto.rate).toFixed(2)}, receiver CPU a span x${(json.cpuUs / proto.cpuUs).toFixed(2)};` +
      ` one receiver core would take ${(1e6 / proto.cpuUs).toFixed(0)} protobuf spans/s`,
  )
  console.log(
    `target: >= 5000 spans/s (protobuf, as fast as it goes): ${proto.rate >= 5000 ? 'met' : 'NOT met'}`,
  )
  console.log(
    `target: RSS < 200 MB, store full, ingesting ${RATE} spans/s (protobuf, paced): ${steady.full < 200 * 1024 * 1024 ? 'met' : 'NOT met'}` +
      ` (${mb(steady.full)} MB; as fast as it goes: ${mb(proto.full)} MB)`,
  )

  function start(name, config, core) {
    // the receiver runs a full GC before it reports its heap, which needs --expose-gc
    const execArgv = name === 'receiver' ? ['--expose-gc', ...RECEIVER_NODE_FLAGS] : []
    const child = fork(SELF, [name, JSON.stringify(config)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    if (taskset)
      execFileSync('taskset', ['-a', '-p', '-c', String(core), String(child.pid)], { stdio: 'ignore' })
    const waiting = new Map()
    child.on('message', (m) => waiting.get(m.type)?.(m))
    child.on('exit', (code) => {
      if (code) for (const w of waiting.values()) w({ error: `the ${name} exited ${code}` })
    })
    const next = (type) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the ${name} sent no ${type} in 300 s`)), 300_000)
        waiting.set(type, (m) => {
          clearTimeout(timer)
          if (m.error) reject(new Error(m.error))
          else resolve(m)
        })
      })
    return {
      next,
      ask: (type) => {
        const p = next(type)
        child.send({ type })
        return p
      },
      kill: () => child.kill('SIGKILL'),
    }
  }
}

/**
 * Bundles the receiver and the span store from src/ into bench/out/otlp-receiver/, as
 * scripts/build.mjs bundles dist/ (esbuild, node20, ESM, packages left external), one shared chunk.
 */
async function bundleReceiver() {
  const { build } = await import('esbuild')
  const outdir = fileURLToPath(new URL('out/otlp-receiver/', import.meta.url))
  mkdirSync(outdir, { recursive: true })
  const src = (p) => fileURLToPath(new URL(`../src/${p}`, import.meta.url))
  await build({
    entryPoints: { receiver: src('io/dashboard/otlp-receiver.ts'), spans: src('core/dashboard/spans.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  })
  return outdir
}

async function runReceiver({ dir, maxSpans }) {
  const { startOtlpReceiver } = await import(pathToFileURL(`${dir}receiver.mjs`).href)
  const { SpanStore } = await import(pathToFileURL(`${dir}spans.mjs`).href)
  const store = new SpanStore(maxSpans ? { maxSpans } : {})
  const receiver = await startOtlpReceiver({ store, port: 0 })
  let peakRss = process.memoryUsage.rss()
  let peakRssFull = 0
  // bounded: the parent kills this process after each round
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss()
    peakRss = Math.max(peakRss, rss)
    if (store.stats.dropped) peakRssFull = Math.max(peakRssFull, rss)
  }, 100)
  const cpu0 = process.cpuUsage()
  process.on('message', (m) => {
    if (m.type !== 'stats') return
    const cpu = process.cpuUsage(cpu0)
    const rss = process.memoryUsage.rss()
    peakRss = Math.max(peakRss, rss)
    if (store.stats.dropped) peakRssFull = Math.max(peakRssFull, rss)
    globalThis.gc()
    const s = store.stats
    clearInterval(sampler)
    process.send({
      type: 'stats',
      spans: receiver.stats.spans,
      held: s.spans,
      storeBytes: s.bytes,
      peakRss,
      peakRssFull,
      heapAfterGc: process.memoryUsage().heapUsed,
      cpuUs: cpu.user + cpu.system,
    })
  })
  process.send({ type: 'ready', port: receiver.port, maxSpans: store.maxSpans })
}

async function runSender({ url, encoding, spans, inflight, rate }) {
  const { context, SpanKind, SpanStatusCode, trace } = await import('@opentelemetry/api')
  const { resourceFromAttributes } = await import('@opentelemetry/resources')
  const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  const { OTLPTraceExporter } =
    encoding === 'json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto')
  const exporter = new OTLPTraceExporter({ url, timeoutMillis: 30_000 })

  // finished spans land here, as a BatchSpanProcessor would hold them, and go out 512 at a time
  const pending = []
  const collect = { export: (s, done) => (pending.push(...s), done({ code: 0 })), shutdown: async () => {} }
  const tracers = Object.fromEntries(
    ['gateway', 'order', 'inventory', 'payment'].map((service) => [
      service,
      new BasicTracerProvider({
        resource: resourceFromAttributes({
          'service.name': service,
          'service.version': '0.1.0',
          'service.instance.id': `${service}-1`,
          'deployment.environment.name': 'dev',
        }),
        spanProcessors: [new SimpleSpanProcessor(collect)],
      }).getTracer('@opentelemetry/instrumentation-http', '0.200.0'),
    ]),
  )
  let n = 0
  const http = (method, route, path, status) => ({
    'http.request.method': method,
    'http.route': route,
    'url.path': path,
    'url.scheme': 'http',
    'http.response.status_code': status,
    'server.address': 'order',
    'server.port': 3000,
    'network.protocol.version': '1.1',
    'user_agent.original': 'undici',
    'msvc.request_id': `req-${n.toString(16)}`,
  })
  /** One order placed: gateway -> order -> (inventory, payment, a query, an event), 8 spans. */
  function oneTrace() {
    n++
    const under = (span) => trace.setSpan(context.active(), span)
    const id = `ord_${n.toString(36)}`
    const g = tracers.gateway.startSpan('POST /api/orders', {
      kind: SpanKind.SERVER,
      attributes: http('POST', '/api/orders', '/api/orders', 201),
    })
    const gc = tracers.gateway.startSpan(
      'POST',
      { kind: SpanKind.CLIENT, attributes: http('POST', '/orders', '/orders', 201) },
      under(g),
    )
    const o = tracers.order.startSpan(
      'POST /orders',
      { kind: SpanKind.SERVER, attributes: { ...http('POST', '/orders', '/orders', 201), 'order.id': id } },
      under(gc),
    )
    const q = tracers.order.startSpan(
      'INSERT orders',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': 'order',
          'db.operation.name': 'INSERT',
          'db.collection.name': 'orders',
          'server.address': 'order-db',
          'server.port': 5432,
          'db.query.text': 'INSERT INTO orders (id, customer, total) VALUES ($1, $2, $3)',
          'order.id': id,
          'db.response.returned_rows': 1,
          'msvc.request_id': `req-${n.toString(16)}`,
        },
      },
      under(o),
    )
    const i = tracers.inventory.startSpan(
      'POST /reservations',
      { kind: SpanKind.SERVER, attributes: http('POST', '/reservations', '/reservations', 201) },
      under(o),
    )
    const p = tracers.payment.startSpan(
      'POST /payments',
      { kind: SpanKind.SERVER, attributes: http('POST', '/payments', '/payments', n % 50 ? 201 : 502) },
      under(o),
    )
    if (n % 50 === 0) p.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' })
    const ip = tracers.inventory.startSpan(
      'reserve stock',
      {
        attributes: {
          'order.id': id,
          'inventory.sku': `sku-${n % 97}`,
          'inventory.quantity': 1 + (n % 5),
          'inventory.warehouse': 'main',
          'msvc.step': 'reserve',
          'msvc.saga': 'place-order',
          'msvc.attempt': 1,
          'msvc.request_id': `req-${n.toString(16)}`,
          'code.function.name': 'reserve',
          'code.file.path': 'src/domain/stock.ts',
        },
      },
      under(i),
    )
    const e = tracers.order.startSpan(
      'shop.order.placed publish',
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': 'shop.events.order.placed',
          'messaging.operation.type': 'send',
          'messaging.message.id': `evt-${n}`,
          'order.id': id,
          'messaging.message.body.size': 240,
          'server.address': 'nats',
          'server.port': 4222,
          'msvc.event': 'order.placed',
          'msvc.request_id': `req-${n.toString(16)}`,
        },
      },
      under(o),
    )
    for (const s of [e, ip, p, i, q, o, gc, g]) s.end()
  }

  let accepted = 0
  let failed = ''
  let next = 0
  const exportOne = (batch) =>
    new Promise((resolve) =>
      exporter.export(batch, (r) => {
        if (r.code === 0) accepted += batch.length
        else failed ||= r.error?.message ?? 'export failed'
        resolve()
      }),
    )
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < spans && !failed) {
        while (pending.length < 512) oneTrace()
        const batch = pending.splice(0, Math.min(512, spans - next))
        next += batch.length
        // paced: each export leaves when the schedule says, or at once if the sender is late
        const due = t0 + ((next - batch.length) / rate) * 1000
        if (rate && due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()))
        await exportOne(batch)
      }
    }),
  )
  const ms = performance.now() - t0
  if (failed) {
    process.send({ type: 'done', error: `an export failed: ${failed}` })
    process.exit(1)
  }
  await exporter.shutdown()
  process.send({ type: 'done', accepted, ms })
  process.exit(0)
}
