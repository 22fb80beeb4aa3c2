/**
 * `msvc dashboard`'s server (issue #18): the page and its assets, a JSON API, server-sent events,
 * and the OTLP receiver, on one HTTP server bound to 127.0.0.1. More OTLP listeners (on the Docker
 * bridge, where the containers reach the host) take only /v1/traces and /v1/logs.
 *
 * Security: the page and the API answer only requests whose Host is loopback (a page elsewhere
 * cannot read them through DNS rebinding); every answer carries a Content-Security-Policy that
 * lets the page run its own script and nothing else; the API sends data as JSON, which the page
 * renders as text (never as markup); OTLP is taken from loopback and the stack's networks only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildSystemGraph, type SystemGraph } from '../../core/dashboard/graph.js'
import { toLogLevel, type LogEntry, type LogRing } from '../../core/dashboard/logs.js'
import { toWaterfall, type SpanStore, type TraceQuery } from '../../core/dashboard/spans.js'
import type { Workspace } from '../../core/workspace/model.js'
import { UserError } from '../../errors.js'
import type { StackMonitor } from './monitor.js'
import { createOtlpHandler, createSourceFilter, type OtlpHandler } from './otlp-receiver.js'
import type { RunsStore } from './runs-store.js'

/** What the page may load: its own script, style and data; no inline script, no frames, no plugins. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/** An API call keeps the monitor polling every second for this long. */
const WATCHED_AFTER_API_MS = 10_000

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/assets/app.js': 'app.js',
  '/assets/app.css': 'app.css',
}
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
}

export interface DashboardServerOptions {
  root: string
  ws: Workspace
  version: string
  /** the built page (dist/dashboard) */
  assetsDir: string
  store: SpanStore
  logs: LogRing
  monitor: StackMonitor
  runs: RunsStore
  /** 127.0.0.1 unless a test says otherwise */
  host?: string
  port: number
  /** CIDR blocks allowed to export besides loopback; read at each request (the stack's networks change) */
  otlpAllow: () => readonly string[]
}

export interface DashboardServer {
  server: Server
  url: string
  port: number
  otlp: OtlpHandler
  /** an OTLP-only server on another address (the Docker bridge) or port */
  listenOtlp(host: string, port: number): Promise<Server>
  /** a page is connected, or the API was called in the last 10 s */
  isWatched(): boolean
  /** tells the pages that new log lines arrived */
  publishLogs(entries: LogEntry[]): void
  close(): Promise<void>
}

/** Starts the dashboard's server; a busy port is a UserError. */
export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const host = o.host ?? '127.0.0.1'
  const graph: SystemGraph = buildSystemGraph(o.ws)
  // the handler's own list admits every source: the allow-list is checked here, per request,
  // against the networks the monitor sees now
  const otlp = createOtlpHandler({ store: o.store, allow: ['0.0.0.0/0', '::/0'] })
  let allowKey = ''
  let allowed = createSourceFilter([])
  const isAllowedSource = (address: string | undefined) => {
    const cidrs = o.otlpAllow()
    const key = cidrs.join(',')
    if (key !== allowKey) {
      allowKey = key
      allowed = createSourceFilter(cidrs)
    }
    return allowed(address)
  }
  const handleOtlp = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/v1/traces' && path !== '/v1/logs') return false
    if (!isAllowedSource(req.socket.remoteAddress)) {
      res
        .writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
        .end(`${req.socket.remoteAddress ?? 'this address'} may not export to msvc's dashboard\n`)
      return true
    }
    return otlp.handle(req, res)
  }

  const clients = new Set<ServerResponse>()
  let lastApiMs = 0
  const isWatched = () => clients.size > 0 || Date.now() - lastApiMs < WATCHED_AFTER_API_MS
  const send = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const c of clients) c.write(text)
  }
  const offHealth = o.monitor.subscribe((s) => send('health', s))
  // span batches arrive many times a second under load: the pages hear of them at most 4 times a second
  let spanTimer: NodeJS.Timeout | undefined
  const offSpans = o.store.subscribe(() => {
    spanTimer ??= setTimeout(() => {
      spanTimer = undefined
      send('traces', o.store.stats)
    }, 250)
  })
  let runsKey = ''
  const runsTimer = setInterval(() => {
    if (clients.size === 0) return
    void o.runs.list().then((runs) => {
      const key = runs.map((r) => `${r.id}@${r.startMs}`).join(',')
      if (key !== runsKey) {
        runsKey = key
        send('runs', runs)
      }
    })
  }, 3000)
  runsTimer.unref()

  const json = (res: ServerResponse, status: number, body: unknown): void =>
    void res
      .writeHead(status, {
        ...SECURITY_HEADERS,
        'content-type': 'application/json',
        'cache-control': 'no-store',
      })
      .end(JSON.stringify(body))

  const isLoopbackHost = (h: string | undefined) => {
    if (!h) return false
    const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]
    return name === '127.0.0.1' || name === 'localhost' || name === '[::1]'
  }

  async function serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname
    if (p.startsWith('/api/') && p !== '/api/ping') {
      // a client polling the API (a script, msvc traces) makes the monitor look every second again
      if (!isWatched()) o.monitor.wake()
      lastApiMs = Date.now()
    }
    const q = url.searchParams
    if (p === '/api/ping')
      return json(res, 200, { workspace: o.ws.name, root: o.root, pid: process.pid, version: o.version })
    if (p === '/api/graph') return json(res, 200, graph)
    if (p === '/api/health') return json(res, 200, o.monitor.snapshot)
    if (p === '/api/red') {
      const service = q.get('service') ?? ''
      return json(res, 200, o.monitor.historyOf(service, Number(q.get('since') ?? 0) || 0))
    }
    if (p === '/api/traces') {
      const query: TraceQuery = {}
      if (q.get('service')) query.service = q.get('service')!
      const status = q.get('status')
      if (status === 'error' || status === 'ok') query.status = status
      const min = Number(q.get('minMs'))
      if (q.get('minMs') && Number.isFinite(min)) query.minDurationMs = min
      const id = q.get('traceId')?.trim().toLowerCase()
      if (id) query.traceId = id.replace(/[^0-9a-f]/g, '')
      const limit = Number(q.get('limit'))
      if (Number.isFinite(limit) && limit > 0) query.limit = limit
      return json(res, 200, { traces: o.store.listTraces(query), stats: o.store.stats, receiver: otlp.stats })
    }
    const trace = /^\/api\/traces\/([0-9a-fA-F]{1,32})$/.exec(p)
    if (trace) {
      const t = o.store.getTrace(trace[1]!)
      if (!t) return json(res, 404, { error: `no trace ${trace[1]} is held` })
      return json(res, 200, { summary: t.summary, rows: toWaterfall(t.spans) })
    }
    if (p === '/api/logs') {
      const level = toLogLevel(q.get('level') ?? undefined)
      const after = Number(q.get('after'))
      return json(
        res,
        200,
        o.logs.query({
          ...(q.get('service') ? { service: q.get('service')! } : {}),
          ...(level ? { level } : {}),
          ...(q.get('requestId') ? { requestId: q.get('requestId')! } : {}),
          ...(q.get('traceId') ? { traceId: q.get('traceId')! } : {}),
          ...(q.get('spanId') ? { spanId: q.get('spanId')! } : {}),
          ...(q.get('text') ? { text: q.get('text')! } : {}),
          ...(Number.isFinite(after) && after > 0 ? { afterSeq: after } : {}),
          limit: Number(q.get('limit')) || 500,
        }),
      )
    }
    if (p === '/api/runs') return json(res, 200, await o.runs.list())
    if (p === '/api/run') {
      const run = await o.runs.read(q.get('id') ?? '')
      return run ? json(res, 200, run) : json(res, 404, { error: 'no such run' })
    }
    if (p === '/api/events') {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      })
      res.write(`retry: 1000\nevent: health\ndata: ${JSON.stringify(o.monitor.snapshot)}\n\n`)
      clients.add(res)
      o.monitor.wake()
      req.on('close', () => clients.delete(res))
      return
    }
    const asset = ASSETS[p]
    if (asset) {
      const body = await readFile(join(o.assetsDir, asset)).catch(() => undefined)
      if (!body)
        return void res
          .writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain' })
          .end('the dashboard’s page is not built: run npm run build in msvc\n')
      return void res
        .writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': TYPES[asset.split('.').pop()!]!,
          'cache-control': 'no-cache',
        })
        .end(body)
    }
    json(res, 404, { error: `no ${p}` })
  }

  const server = createServer((req, res) => {
    if (handleOtlp(req, res)) return
    if (!isLoopbackHost(req.headers.host)) {
      res
        .writeHead(421, { 'content-type': 'text/plain' })
        .end('the dashboard answers on 127.0.0.1 or localhost only\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end()
      return
    }
    serve(req, res, new URL(req.url ?? '/', 'http://127.0.0.1')).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (e as Error).message })
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 65_000
  const port = await listen(server, host, o.port, 'dashboard')
  const extra: Server[] = []
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    otlp,
    async listenOtlp(h, p) {
      const s = createServer((req, res) => {
        if (!handleOtlp(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      })
      s.keepAliveTimeout = 65_000
      await listen(s, h, p, 'OTLP receiver')
      extra.push(s)
      return s
    },
    isWatched,
    publishLogs(entries) {
      if (entries.length) send('logs', entries)
    },
    async close() {
      offHealth()
      offSpans()
      clearTimeout(spanTimer)
      clearInterval(runsTimer)
      for (const c of clients) c.end()
      await Promise.all(
        [server, ...extra].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve())
              s.closeAllConnections()
            }),
        ),
      )
    },
  }
}

function listen(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        reject(
          new UserError(
            `the ${what}'s port ${host}:${port} is in use`,
            'stop what listens there, or choose another port (--port, --otlp-port)',
          ),
        )
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES')
        reject(
          new UserError(`the ${what} cannot listen on ${host}:${port} (${e.code})`, 'choose another port'),
        )
      else reject(e)
    })
    server.listen(port, host, () => {
      const a = server.address()
      resolve(typeof a === 'object' && a ? a.port : port)
    })
  })
}
