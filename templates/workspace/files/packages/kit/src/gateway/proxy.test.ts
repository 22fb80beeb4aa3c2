import { createHash } from 'node:crypto'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { SignJWT, type JWTPayload } from 'jose'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HealthRegistry } from '../health.js'
import { createLogger } from '../logger.js'
import { Metrics } from '../metrics.js'
import { createGateway, type Gateway, type GatewayRoute } from './proxy.js'
import { dnsResolver } from './upstream.js'

const MiB = 1024 * 1024
const SECRET = 'a-dev-secret-of-at-least-thirty-two-bytes'

/** What an instance was sent. */
interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
}

/**
 * A small upstream instance on 127.0.0.1 that records every request but its readiness checks.
 * The last path segment picks what it does: `upload` (reads and hashes the body), `download`
 * (5 MiB, the last 4 only once `openDownload()` is called), `sleep?ms=`, `reset` (drops the
 * connection), `cut` (a 200 head and 64 KiB of a longer body, then drops the connection), `fail`
 * (500), `hop` (answers with hop-by-hop headers); anything else echoes.
 */
class Instance {
  readonly seen: Seen[] = []
  ready = true
  port = 0
  /** when set, every request (but readiness checks) is answered with this status */
  failWith: number | undefined
  /** with failWith: the answer's body breaks off (the connection dropped) after its first bytes */
  cutFailures = false
  /** `sleep` requests whose client went away before the answer */
  cancelled = 0
  private server: http.Server | undefined
  /** called with the bytes of an upload received so far */
  onUploadBytes: (bytes: number) => void = () => {}
  private release: () => void = () => {}
  private downloadGate = Promise.resolve()

  static async start(): Promise<Instance> {
    const i = new Instance()
    await i.listen(0)
    return i
  }

  async listen(port: number): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
  }

  /** Closes the server and every connection to it, as a replica that dies does. */
  async stop(): Promise<void> {
    const server = this.server!
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }

  holdDownload(): void {
    this.downloadGate = new Promise((resolve) => (this.release = resolve))
  }

  openDownload(): void {
    this.release()
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url!, 'http://instance')
    if (url.pathname === '/health/ready') {
      res.statusCode = this.ready ? 200 : 503
      return void res.end()
    }
    this.seen.push({ method: req.method!, url: req.url!, headers: req.headers })
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    if (this.failWith && this.cutFailures) {
      res.writeHead(this.failWith, { 'content-type': 'application/json', 'content-length': '1000' })
      res.write('{"error":', () => setTimeout(() => req.socket.destroy(), 20))
      return
    }
    if (this.failWith) return json(this.failWith, { error: 'failing on purpose' })
    switch (url.pathname.split('/').pop()) {
      case 'upload': {
        const hash = createHash('sha256')
        let bytes = 0
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          hash.update(chunk)
          this.onUploadBytes(bytes)
        })
        req.on('error', () => {})
        req.on('end', () => json(200, { bytes, sha256: hash.digest('hex') }))
        return
      }
      case 'download':
        return void this.download(res)
      case 'sleep': {
        const timer = setTimeout(() => json(200, { slept: true }), Number(url.searchParams.get('ms')))
        res.on('close', () => {
          if (res.writableFinished) return
          clearTimeout(timer)
          this.cancelled++
        })
        return
      }
      case 'reset':
        return void req.socket.destroy()
      case 'cut':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MiB) })
        res.write(downloadChunk(1), () => setTimeout(() => req.socket.destroy(), 50))
        return
      case 'fail':
        return json(500, { error: 'the instance failed' }, { 'x-from': 'instance' })
      case 'hop':
        return json(
          200,
          {},
          {
            connection: 'x-resp-hop',
            'x-resp-hop': 'secret',
            'keep-alive': 'timeout=5',
            'proxy-authenticate': 'Basic',
            'x-request-id': 'the-instance-id',
            'x-kept': 'yes',
          },
        )
      default:
        return json(200, { instance: this.port, method: req.method, url: req.url, headers: req.headers })
    }
  }

  private async download(res: http.ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    for (let i = 0; i < DOWNLOAD_CHUNKS; i++) {
      if (i === DOWNLOAD_CHUNKS / 5) await this.downloadGate
      if (!res.write(downloadChunk(i))) await new Promise((resolve) => res.once('drain', resolve))
    }
    res.end()
  }
}

/** 5 MiB in 80 chunks of 64 KiB, each filled with its own byte. */
const DOWNLOAD_CHUNKS = 80
const downloadChunk = (i: number) => Buffer.alloc(64 * 1024, i % 256)

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  json: () => Record<string, unknown>
}

/** One request to the gateway with node's client (which sends headers and paths as given). */
function call(
  port: number,
  path: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = {
      ...(opts.body !== undefined ? { 'content-length': Buffer.byteLength(opts.body) } : {}),
      ...opts.headers,
    }
    const req = http.request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) })
        })
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** A sink for the gateway's log lines. */
function logSink() {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      cb()
    },
  })
  return { lines, logger: createLogger('gateway', 'info', sink) }
}

interface Started {
  gateway: Gateway
  port: number
  metrics: Metrics
  lines: string[]
}

async function startGateway(
  routes: GatewayRoute[],
  hosts: Record<string, Instance[]>,
  extra: Partial<Parameters<typeof createGateway>[0]> = {},
): Promise<Started> {
  const { lines, logger } = logSink()
  const metrics = new Metrics('gateway', { processMetrics: false })
  const gateway = createGateway({
    service: 'gateway',
    logger,
    metrics,
    health: new HealthRegistry(),
    routes,
    jwt: { secret: SECRET },
    bodyLimit: 6 * MiB,
    resolveIntervalMs: 200,
    healthIntervalMs: 100,
    eject: { after: 3, ms: 200, maxMs: 500 },
    breaker: { failureThreshold: 5, openMs: 60_000 },
    // named hosts are the test's instances; anything else goes to DNS
    resolve: async (host) =>
      hosts[host] ? hosts[host].map((i) => `127.0.0.1:${i.port}`) : dnsResolver(host),
    ...extra,
  })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  return { gateway, port: (gateway.app.server.address() as AddressInfo).port, metrics, lines }
}

let now = Date.now()
const clock = () => now
const sec = (ms: number) => Math.floor(ms / 1000)
const token = (claims: JWTPayload, expSec = sec(now) + 3600) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expSec)
    .sign(new TextEncoder().encode(SECRET))

describe('createGateway', () => {
  const order: Instance[] = []
  let files: Instance, slow: Instance, flaky: Instance, fragile: Instance, lonely: Instance, direct: Instance
  let broken: Instance
  let gw: Started
  let trustingGw: Started

  beforeAll(async () => {
    order.push(...(await Promise.all([Instance.start(), Instance.start(), Instance.start()])))
    ;[files, slow, flaky, fragile, lonely, direct, broken] = (await Promise.all(
      Array.from({ length: 7 }, () => Instance.start()),
    )) as [Instance, Instance, Instance, Instance, Instance, Instance, Instance]
    const routes: GatewayRoute[] = [
      {
        prefix: '/api/orders',
        upstream: 'order',
        target: 'http://order.test:3001',
        rewrite: '/orders',
        auth: 'jwt',
      },
      { prefix: '/api/admin', upstream: 'order', target: 'http://order.test:3001', auth: 'jwt(roles=admin)' },
      {
        prefix: '/api/public',
        upstream: 'order',
        target: 'http://order.test:3001',
        rewrite: '/',
        auth: 'none',
      },
      {
        prefix: '/api/limited',
        upstream: 'order',
        target: 'http://order.test:3001',
        auth: 'jwt',
        rateLimit: '1/min burst 3',
      },
      { prefix: '/api/files', upstream: 'files', target: 'http://files.test:80', auth: 'none' },
      { prefix: '/api/slow', upstream: 'slow', target: 'http://slow.test:80', auth: 'none', timeoutMs: 200 },
      {
        prefix: '/api/flaky',
        upstream: 'flaky',
        target: 'http://flaky.test',
        rewrite: '/fail',
        auth: 'none',
      },
      {
        prefix: '/api/fragile',
        upstream: 'fragile',
        target: 'http://fragile.test',
        auth: 'none',
        retries: 2,
      },
      { prefix: '/api/lonely', upstream: 'lonely', target: 'http://lonely.test', auth: 'none' },
      { prefix: '/api/direct', upstream: 'direct', target: `http://127.0.0.1:${direct.port}`, auth: 'none' },
      { prefix: '/api/broken', upstream: 'broken', target: 'http://broken.test', auth: 'none' },
    ]
    const hosts = {
      'order.test': order,
      'files.test': [files],
      'slow.test': [slow],
      'flaky.test': [flaky],
      'fragile.test': [fragile],
      'lonely.test': [lonely],
      'broken.test': [broken],
    }
    gw = await startGateway(routes, hosts, { clock })
    trustingGw = await startGateway(routes, hosts, { clock, trustedProxies: ['127.0.0.1', '10.0.0.0/8'] })
  })

  afterAll(async () => {
    await Promise.all([gw?.gateway.app.close(), trustingGw?.gateway.app.close()])
    await Promise.all([...order, files, slow, flaky, fragile, direct, broken].map((i) => i?.stop()))
  })

  describe('routing', () => {
    it('serves the prefix and below it, rewriting the prefix and keeping the query as sent', async () => {
      const a = await call(gw.port, '/api/public/things/a%20b?x=1&y=%2F')
      expect(a.status).toBe(200)
      expect(a.json().url).toBe('/things/a%20b?x=1&y=%2F')
      expect((await call(gw.port, '/api/public')).json().url).toBe('/')
      expect((await call(gw.port, '/api/files/x?q')).json().url).toBe('/api/files/x?q')
    })

    it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])('passes %s on', async (method) => {
      const r = await call(gw.port, '/api/public/m', { method, body: method === 'GET' ? undefined : '{}' })
      expect(r.status).toBe(200)
      expect(r.json().method).toBe(method)
    })

    it('passes HEAD on, with the answer headers and no body', async () => {
      const r = await call(gw.port, '/api/public/m', { method: 'HEAD' })
      expect(r.status).toBe(200)
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.text).toBe('')
    })

    it.each(['TRACE', 'PROPFIND', 'PURGE'])('answers %s with a 405 problem', async (method) => {
      const r = await call(gw.port, '/api/public/m', { method })
      expect(r.status).toBe(405)
      expect(r.headers['content-type']).toBe('application/problem+json')
      expect(r.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS')
      expect(r.json()).toMatchObject({ type: 'about:blank', title: 'Method Not Allowed', status: 405 })
    })

    it('answers CONNECT (a tunnel, which node never hands to fastify) with a 405 problem', async () => {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(gw.port, '127.0.0.1')
        let got = ''
        socket.on('data', (d) => (got += d.toString()))
        socket.on('close', () => resolve(got))
        socket.on('error', () => {})
        socket.write('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n')
      })
      const [head = '', body = ''] = answer.split('\r\n\r\n')
      expect(head).toMatch(/^HTTP\/1\.1 405 /)
      expect(head).toContain('content-type: application/problem+json')
      expect(JSON.parse(body)).toMatchObject({ status: 405, title: 'Method Not Allowed' })
      expect((await call(gw.port, '/health/live')).status).toBe(200)
    })

    it.each([
      '/api/public/../admin',
      '/api/public/./x',
      '/api/public/%2e%2e/admin',
      '/api/public/%2E./admin',
      '/api/public/.%2E/admin',
      '/api/public/a%2f..%2fb',
      '/api/public/a%5C..%5Cb',
      '/api/public/a\\..\\b',
      '/api/public/%zz',
      '/api/../api/public/x',
    ])('refuses %s with 400, and the upstream never sees it', async (path) => {
      const before = order.reduce((n, i) => n + i.seen.length, 0)
      const r = await call(gw.port, path)
      expect(r.status).toBe(400)
      expect(order.reduce((n, i) => n + i.seen.length, 0)).toBe(before)
    })

    it('answers a path no route serves with a 404 problem', async () => {
      for (const path of ['/nope', '/api/publicity', '/']) {
        const r = await call(gw.port, `${path}?secret=1`)
        expect(r.status).toBe(404)
        expect(r.headers['content-type']).toBe('application/problem+json')
        expect(r.json()).toEqual({
          type: 'about:blank',
          title: 'Not Found',
          status: 404,
          detail: `no route for GET ${path}`,
          instance: path,
          requestId: r.headers['x-request-id'],
        })
      }
    })

    it('resolves a target with an IP literal through the default resolver', async () => {
      const r = await call(gw.port, '/api/direct/x')
      expect(r.json().instance).toBe(direct.port)
    })

    it('keeps its own health, metrics and readiness routes, and labels RED metrics by route template', async () => {
      expect((await call(gw.port, '/health/live')).status).toBe(200)
      expect((await call(gw.port, '/health/ready')).status).toBe(200)
      const text = (await call(gw.port, '/metrics')).text
      expect(text).toMatch(/http_requests_total\{[^}]*route="\/api\/public\/\*"/)
      expect(text).not.toMatch(/route="\/api\/public\/things/)
    })
  })

  describe('headers', () => {
    const incoming = {
      connection: 'keep-alive, x-hop',
      'x-hop': 'only for the gateway',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic bWU6cHc=',
      authorization: 'Bearer kept-for-the-upstream',
      'x-user-id': 'mallory',
      'x-user-roles': 'admin',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-host': 'shop.example',
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '443',
      forwarded: 'for=203.0.113.7;proto=https',
      'x-request-id': 'req-123',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=1',
      'x-custom': 'kept',
    }

    it('strips hop-by-hop fields and principal headers, keeps authorization, replaces untrusted forwarded fields', async () => {
      const r = await call(gw.port, '/api/public/echo', { headers: incoming })
      const sent = r.json().headers as Record<string, string>
      for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-authorization', 'x-user-id', 'x-user-roles'])
        expect(sent).not.toHaveProperty(name)
      expect(sent.connection).not.toMatch(/x-hop/)
      expect(sent).not.toHaveProperty('x-forwarded-port')
      expect(sent).toMatchObject({
        host: 'order.test:3001',
        authorization: 'Bearer kept-for-the-upstream',
        'x-custom': 'kept',
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': `127.0.0.1:${gw.port}`,
        forwarded: `for=127.0.0.1;proto=http;host="127.0.0.1:${gw.port}"`,
        'x-request-id': 'req-123',
        traceparent: incoming.traceparent,
        tracestate: 'vendor=1',
      })
      expect(r.headers['x-request-id']).toBe('req-123')
      // the client's address for limits and logs is the peer's: its X-Forwarded-For is not believed
      const line = gw.lines
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'gateway' && l.requestId === 'req-123')
      expect(line).toMatchObject({
        clientId: 'ip:127.0.0.1',
        route: '/api/public',
        upstream: 'order',
        status: 200,
      })
    })

    it('from a trusted proxy, appends to the forwarded fields and takes the client address from them', async () => {
      const r = await call(trustingGw.port, '/api/public/echo', {
        headers: { ...incoming, 'x-forwarded-for': '203.0.113.7, 10.1.2.3', 'x-request-id': 'req-trusted' },
      })
      const sent = r.json().headers as Record<string, string>
      expect(sent).toMatchObject({
        'x-forwarded-for': '203.0.113.7, 10.1.2.3, 127.0.0.1',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'shop.example',
        'x-forwarded-port': '443',
        forwarded: `for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host="127.0.0.1:${trustingGw.port}"`,
      })
      const line = trustingGw.lines
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'gateway' && l.requestId === 'req-trusted')
      expect(line.clientId).toBe('ip:203.0.113.7')
    })

    it('strips hop-by-hop fields of the answer and keeps its own request id', async () => {
      const r = await call(gw.port, '/api/public/hop', { headers: { 'x-request-id': 'req-hop' } })
      expect(r.status).toBe(200)
      expect(r.headers['x-kept']).toBe('yes')
      for (const name of ['x-resp-hop', 'proxy-authenticate']) expect(r.headers).not.toHaveProperty(name)
      expect(r.headers['keep-alive']).not.toBe('timeout=5')
      expect(r.headers['x-request-id']).toBe('req-hop')
    })

    it('creates a request id and a traceparent when none (or an invalid one) is sent', async () => {
      for (const traceparent of [
        undefined,
        '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
        '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
        '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
        'garbage',
      ]) {
        const r = await call(gw.port, '/api/public/echo', {
          headers: traceparent ? { traceparent, tracestate: 'vendor=1' } : {},
        })
        const sent = r.json().headers as Record<string, string>
        expect(sent['x-request-id']).toMatch(/^[0-9a-f]{32}$/)
        expect(sent['x-request-id']).toBe(r.headers['x-request-id'])
        expect(sent.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
        expect(sent.traceparent).not.toBe(traceparent)
        expect(sent).not.toHaveProperty('tracestate')
      }
    })
  })

  describe('auth', () => {
    it('answers 401 with a Bearer challenge without a token, or with a bad one', async () => {
      for (const authorization of [undefined, 'Bearer nope', `Bearer ${await token({ sub: 'a' })}x`]) {
        const r = await call(gw.port, '/api/orders/1', { headers: authorization ? { authorization } : {} })
        expect(r.status).toBe(401)
        expect(r.headers['www-authenticate']).toMatch(
          /^Bearer realm="gateway", error="invalid_(request|token)"/,
        )
        expect(r.headers['content-type']).toBe('application/problem+json')
      }
      expect(await metricValue(gw, 'gateway_auth_refused_total{route="/api/orders",status="401"}')).toBe(3)
    })

    it('answers 403 without the role, and passes a HS256 token with it, setting the principal headers', async () => {
      const ops = await token({ sub: 'bob', roles: ['ops'] })
      const denied = await call(gw.port, '/api/admin/x', { headers: { authorization: `Bearer ${ops}` } })
      expect(denied.status).toBe(403)
      expect(denied.headers['www-authenticate']).toMatch(/error="insufficient_scope"/)

      const admin = await token({ sub: 'alice', roles: ['admin', 'ops'] })
      const r = await call(gw.port, '/api/admin/echo', {
        headers: { authorization: `Bearer ${admin}`, 'x-user-id': 'mallory', 'x-request-id': 'req-alice' },
      })
      expect(r.status).toBe(200)
      expect(r.json().headers).toMatchObject({ 'x-user-id': 'alice', 'x-user-roles': 'admin,ops' })
      const line = gw.lines
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'gateway' && l.requestId === 'req-alice')
      expect(line).toMatchObject({ clientId: 'sub:alice', status: 200, attempts: 1 })
      // no log line carries a token
      for (const t of [ops, admin]) expect(gw.lines.join('\n')).not.toContain(t.split('.')[2])
    })

    it('refuses a token once it has expired, though it was accepted (and remembered) before', async () => {
      const short = await token({ sub: 'carol' }, sec(now) + 60)
      const get = () => call(gw.port, '/api/orders/1', { headers: { authorization: `Bearer ${short}` } })
      expect((await get()).status).toBe(200)
      expect((await get()).status).toBe(200)
      now += 60_000 + 31_000 // past exp and the 30 s of allowed skew
      try {
        const r = await get()
        expect(r.status).toBe(401)
        expect(r.json().detail).toBe('the token has expired')
      } finally {
        now = Date.now()
      }
    })
  })

  describe('rate limit', () => {
    it('passes the burst with RateLimit headers, then answers 429 with Retry-After', async () => {
      const auth = { authorization: `Bearer ${await token({ sub: 'dave' })}` }
      const answers = []
      for (let k = 0; k < 4; k++) answers.push(await call(gw.port, '/api/limited/x', { headers: auth }))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429])
      expect(answers.map((a) => a.headers.ratelimit)).toEqual([
        '"/api/limited";r=2;t=60',
        '"/api/limited";r=1;t=120',
        '"/api/limited";r=0;t=180',
        '"/api/limited";r=0;t=180',
      ])
      expect(answers[0]!.headers['ratelimit-policy']).toBe('"/api/limited";q=1;w=60')
      const refused = answers[3]!
      expect(refused.headers['retry-after']).toBe('60')
      expect(refused.json()).toMatchObject({ status: 429, title: 'Too Many Requests' })
      // another subject has its own bucket
      const other = { authorization: `Bearer ${await token({ sub: 'erin' })}` }
      expect((await call(gw.port, '/api/limited/x', { headers: other })).status).toBe(200)
      expect(await metricValue(gw, 'gateway_rate_limited_total{route="/api/limited"}')).toBe(1)
    })

    it('limits requests the token check refuses by their address', async () => {
      const statuses = []
      for (let k = 0; k < 4; k++) statuses.push((await call(trustingGw.port, '/api/limited/x')).status)
      expect(statuses).toEqual([401, 401, 401, 429])
    })
  })

  describe('streaming', () => {
    it('streams a 5 MiB upload: the instance reads it before the client has sent it all', async () => {
      const body = Buffer.alloc(5 * MiB, 7)
      for (const headers of [{ 'content-length': String(body.length) }, { 'transfer-encoding': 'chunked' }]) {
        let started: () => void = () => {}
        const instanceStarted = new Promise<void>((resolve) => (started = resolve))
        files.onUploadBytes = (bytes) => bytes > 0 && started()
        const answer = new Promise<Answer>((resolve, reject) => {
          const req = http.request(
            { host: '127.0.0.1', port: gw.port, path: '/api/files/upload', method: 'POST', headers },
            (res) => {
              let text = ''
              res.on('data', (c) => (text += c))
              res.on('end', () =>
                resolve({
                  status: res.statusCode!,
                  headers: res.headers,
                  text,
                  json: () => JSON.parse(text),
                }),
              )
            },
          )
          req.on('error', reject)
          req.write(body.subarray(0, MiB))
          // the rest is sent only once the instance has bytes: a buffering gateway would wait forever
          void withDeadline(instanceStarted, 3000).then(() => req.end(body.subarray(MiB)), reject)
        })
        const r = await answer
        expect(r.status).toBe(200)
        expect(r.json()).toEqual({
          bytes: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
        })
      }
    })

    it('streams a 5 MiB download: the client reads it before the instance has written it all', async () => {
      files.holdDownload()
      const hash = createHash('sha256')
      let bytes = 0
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: gw.port, path: '/api/files/download' }, (res) => {
            res.on('data', (c: Buffer) => {
              bytes += c.length
              hash.update(c)
              if (bytes >= MiB) files.openDownload()
            })
            res.on('end', resolve)
          })
          .on('error', reject)
      })
      const expected = createHash('sha256')
      for (let i = 0; i < DOWNLOAD_CHUNKS; i++) expected.update(downloadChunk(i))
      expect(bytes).toBe(5 * MiB)
      expect(hash.digest('hex')).toBe(expected.digest('hex'))
    })

    it('cuts the client off when the instance breaks its answer off mid-body, and blames the instance', async () => {
      const { status, received, error } = await new Promise<{
        status: number
        received: number
        error: string
      }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: gw.port, path: '/api/broken/cut' }, (res) => {
            let received = 0
            res.on('data', (c: Buffer) => (received += c.length))
            res.on('error', (e) => resolve({ status: res.statusCode!, received, error: e.message }))
            res.on('end', () => reject(new Error(`the cut answer ended cleanly after ${received} bytes`)))
          })
          .on('error', reject)
      })
      expect(status).toBe(200)
      expect(received).toBeLessThan(MiB)
      expect(error).toBe('aborted')
      const line = await eventually(async () =>
        gw.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'gateway' && l.upstream === 'broken'),
      )
      expect(line).toMatchObject({ status: 200, attempts: 1, cut: 'upstream' })
      expect(
        await metricValue(gw, 'gateway_upstream_requests_total{upstream="broken",outcome="error"}'),
      ).toBe(1)
      // counted once, as the failure it was, not also as the 200 its head said
      expect(
        await metricValue(gw, 'gateway_upstream_requests_total{upstream="broken",outcome="ok"}'),
      ).toBeFalsy()
      expect(broken.seen.length).toBe(1) // the head had gone out: nothing to retry
    })

    it('does not blame the instance for a client that goes away mid-download', async () => {
      files.holdDownload()
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: gw.port, path: '/api/files/download' }, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => {})
        setTimeout(() => reject(new Error('no bytes')), 3000).unref()
      })
      const line = await eventually(async () =>
        gw.lines
          .map((l) => JSON.parse(l))
          .find((l) => l.msg === 'gateway' && l.upstream === 'files' && l.cut !== undefined),
      )
      files.openDownload()
      expect(line).toMatchObject({ status: 200, cut: 'client' })
      expect(await metricValue(gw, 'gateway_upstream_requests_total{upstream="files",outcome="error"}')).toBe(
        0,
      )
    })

    it('answers 413 to a declared body over the limit without reading it', async () => {
      const seenBefore = files.seen.length
      const r = await new Promise<Answer>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: gw.port,
          path: '/api/files/upload',
          method: 'POST',
          headers: { 'content-length': String(7 * MiB) },
        })
        req.on('response', (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => {
            resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) })
            req.destroy()
          })
        })
        req.on('error', () => {})
        req.flushHeaders()
        setTimeout(() => reject(new Error('no answer')), 3000).unref()
      })
      expect(r.status).toBe(413)
      expect(r.json()).toMatchObject({ status: 413, title: 'Payload Too Large' })
      expect(files.seen.length).toBe(seenBefore)
    })

    it('passes any content type on untouched (no parser reads the body)', async () => {
      for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/json', 'x/unknown'])
        expect(
          (
            await call(gw.port, '/api/files/upload', {
              method: 'POST',
              body: '{"not":',
              headers: { 'content-type': type },
            })
          ).json(),
        ).toMatchObject({ bytes: 7 })
    })

    it('answers 413 to a chunked body once it passes the limit, and the instance is not blamed', async () => {
      const seenBefore = files.seen.length
      const r = await new Promise<Answer>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: gw.port, path: '/api/files/upload', method: 'POST' },
          (res) => {
            let text = ''
            res.on('data', (c) => (text += c))
            res.on('end', () =>
              resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }),
            )
          },
        )
        req.on('error', reject)
        const chunk = Buffer.alloc(256 * 1024, 1)
        let sent = 0
        const more = () => {
          while (sent < 7 * MiB) {
            sent += chunk.length
            if (!req.write(chunk)) return void req.once('drain', more)
          }
          req.end()
        }
        more()
      })
      expect(r.status).toBe(413)
      expect(r.headers['content-type']).toBe('application/problem+json')
      expect(files.seen.length).toBe(seenBefore + 1)
      // the connection and the upstream are fine afterwards
      const ok = await call(gw.port, '/api/files/upload', { method: 'POST', body: 'small' })
      expect(ok.json()).toMatchObject({ bytes: 5 })
      expect(await metricValue(gw, 'gateway_upstream_requests_total{upstream="files",outcome="error"}')).toBe(
        0,
      )
    })
  })

  describe('resilience', () => {
    it('answers 504 with a problem when the instance takes longer than the route timeout', async () => {
      const started = Date.now()
      const r = await call(gw.port, '/api/slow/sleep?ms=1500')
      expect(r.status).toBe(504)
      expect(Date.now() - started).toBeLessThan(400)
      expect(r.headers['content-type']).toBe('application/problem+json')
      expect(r.json()).toMatchObject({ status: 504, title: 'Gateway Timeout', instance: '/api/slow/sleep' })
      expect(slow.seen.length).toBe(1) // a timeout is not retried
      expect(
        await metricValue(gw, 'gateway_upstream_requests_total{upstream="slow",outcome="timeout"}'),
      ).toBe(1)
    })

    it('cancels the upstream request when the client goes away', async () => {
      const req = http.get({ host: '127.0.0.1', port: gw.port, path: '/api/files/sleep?ms=5000' })
      req.on('error', () => {})
      await eventually(async () => files.seen.some((s) => s.url.includes('sleep')))
      req.destroy()
      await eventually(async () => files.cancelled === 1)
      const line = await eventually(async () =>
        gw.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'gateway' && l.status === 499),
      )
      expect(line).toMatchObject({ upstream: 'files', attempts: 1 })
      expect(await metricValue(gw, 'gateway_upstream_requests_total{upstream="files",outcome="error"}')).toBe(
        0,
      )
    })

    it('never retries a POST; retries a GET on a dropped connection', async () => {
      const post = await call(gw.port, '/api/fragile/reset', { method: 'POST', body: 'once' })
      expect(post.status).toBe(502)
      expect(post.json()).toMatchObject({ status: 502, title: 'Bad Gateway' })
      expect(fragile.seen.length).toBe(1)
      const get = await call(gw.port, '/api/fragile/reset')
      expect(get.status).toBe(502)
      expect(fragile.seen.length).toBe(1 + 3)
      expect(await metricValue(gw, 'gateway_retries_total{upstream="fragile"}')).toBe(2)
    })

    it('passes 5xx answers through, and once the breaker opens answers 503 at once', async () => {
      for (let k = 0; k < 5; k++) {
        const r = await call(gw.port, '/api/flaky')
        expect(r.status).toBe(500)
        expect(r.headers['x-from']).toBe('instance')
        expect(r.json()).toEqual({ error: 'the instance failed' })
      }
      const started = performance.now()
      const r = await call(gw.port, '/api/flaky')
      expect(performance.now() - started).toBeLessThan(50)
      expect(r.status).toBe(503)
      expect(r.headers['content-type']).toBe('application/problem+json')
      expect(flaky.seen.length).toBe(5)
      expect(await metricValue(gw, 'circuit_breaker_state{target="flaky"}')).toBe(1)
      expect(
        await metricValue(gw, 'gateway_upstream_requests_total{upstream="flaky",outcome="rejected"}'),
      ).toBe(1)
    })

    it('is not ready once every instance of an upstream is gone, naming it', async () => {
      await lonely.stop()
      // (other upstreams may be out for a moment too: flaky and fragile failed on purpose above)
      const check = await eventually(async () => {
        const r = await call(gw.port, '/health/ready')
        const checks = r.json().checks as { name: string; ok: boolean; detail?: string }[]
        return r.status === 503 && checks.find((c) => c.detail?.includes('lonely'))
      })
      expect(check).toEqual({
        name: 'upstreams',
        ok: false,
        detail: expect.stringMatching(/^no ready instance: (.+, )?lonely/),
      })
      expect(await metricValue(gw, 'gateway_upstream_instances{upstream="lonely",state="not_ready"}')).toBe(1)
      const r = await call(gw.port, '/api/lonely/x')
      expect(r.status).toBe(502)
    })
  })
})

describe('createGateway refuses a configuration it cannot serve', () => {
  const route: GatewayRoute = {
    prefix: '/api/orders',
    upstream: 'order',
    target: 'http://order:3001',
    auth: 'jwt',
  }
  const make =
    (routes: GatewayRoute[], extra: Partial<Parameters<typeof createGateway>[0]> = {}) =>
    () =>
      createGateway({
        service: 'gateway',
        logger: logSink().logger,
        metrics: new Metrics('gateway', { processMetrics: false }),
        health: new HealthRegistry(),
        routes,
        jwt: { secret: SECRET },
        ...extra,
      })

  it.each<[string, GatewayRoute[], Partial<Parameters<typeof createGateway>[0]>, RegExp]>([
    ['an auth rule it cannot read', [{ ...route, auth: 'basic' }], {}, /auth "basic" is not none, jwt/],
    ['a role name it cannot read', [{ ...route, auth: 'jwt(roles=a b)' }], {}, /is not a role name/],
    ['a rate limit it cannot read', [{ ...route, rateLimit: '100/day' }], {}, /rate limit "100\/day"/],
    ['a prefix with a parameter', [{ ...route, prefix: '/api/:id' }], {}, /route prefix "\/api\/:id"/],
    ['a rewrite without a slash', [{ ...route, rewrite: 'orders' }], {}, /route rewrite "orders"/],
    ['a target that is not http://host:port', [{ ...route, target: 'https://order' }], {}, /upstream target/],
    ['a timeout of 0', [{ ...route, timeoutMs: 0 }], {}, /timeoutMs 0/],
    ['negative retries', [{ ...route, retries: -1 }], {}, /retries -1/],
    ['a jwt route without jwt settings', [route], { jwt: undefined }, /no jwt settings/],
    [
      'one upstream with two targets',
      [route, { ...route, prefix: '/api/o2', target: 'http://order2:3001' }],
      {},
      /upstream order has two targets: http:\/\/order:3001 and http:\/\/order2:3001/,
    ],
    ['one prefix twice', [route, { ...route, upstream: 'other' }], {}, /the prefix has two routes/],
    ['a trusted proxy that is not an address', [route], { trustedProxies: ['proxy.local'] }, /trusted proxy/],
  ])('%s', (_what, routes, extra, message) => {
    expect(make(routes, extra)).toThrow(message)
  })

  it('needs no jwt settings when no route asks for a token', () => {
    expect(make([{ ...route, auth: 'none' }], { jwt: undefined })).not.toThrow()
  })
})

// thousands of requests through three HTTP hops in one process: slow on a busy machine
describe('createGateway balancing over three instances', { timeout: 15_000 }, () => {
  const order: Instance[] = []
  let gw: Started
  let client: Pool

  beforeAll(async () => {
    order.push(...(await Promise.all([Instance.start(), Instance.start(), Instance.start()])))
    const routes: GatewayRoute[] = [
      { prefix: '/api', upstream: 'order', target: 'http://order.test:3001', auth: 'none', retries: 2 },
    ]
    // active checks out of the way: what is tested here is passive ejection and its end
    gw = await startGateway(routes, { 'order.test': order }, { healthIntervalMs: 60_000 })
    client = new Pool(`http://127.0.0.1:${gw.port}`, { connections: 16 })
  })

  afterAll(async () => {
    await client?.close()
    await gw?.gateway.app.close()
    await Promise.all(order.map((i) => i.stop().catch(() => {})))
  })

  /** `n` GETs, 16 at a time; the statuses by count. */
  async function load(n: number): Promise<Record<number, number>> {
    const statuses: Record<number, number> = {}
    let left = n
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (left-- > 0) {
          const r = await client.request({ method: 'GET', path: '/api/x' })
          await r.body.dump()
          statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1
        }
      }),
    )
    return statuses
  }

  it('spreads 3,000 GETs within 15 % of even', async () => {
    expect(await load(3000)).toEqual({ 200: 3000 })
    for (const i of order) expect(Math.abs(i.seen.length - 1000)).toBeLessThanOrEqual(150)
    expect(await metricValue(gw, 'gateway_upstream_request_duration_seconds_count{upstream="order"}')).toBe(
      3000,
    )
  })

  it('retries a GET answered 503 on another instance', async () => {
    const [failing] = order as [Instance]
    failing.failWith = 503
    try {
      const before = failing.seen.length
      expect(await load(60)).toEqual({ 200: 60 })
      expect(failing.seen.length).toBeGreaterThan(before)
      expect(await metricValue(gw, 'gateway_retries_total{upstream="order"}')).toBe(
        failing.seen.length - before,
      )
    } finally {
      failing.failWith = undefined
    }
  })

  it('retries a GET answered 503 whose body then breaks off, and stays up', async () => {
    // the third instance: the first may still be ejected for the 503s above
    const [, , failing] = order as [Instance, Instance, Instance]
    failing.failWith = 503
    failing.cutFailures = true
    try {
      const before = failing.seen.length
      const retriesBefore = (await metricValue(gw, 'gateway_retries_total{upstream="order"}')) ?? 0
      expect(await load(60)).toEqual({ 200: 60 })
      expect(failing.seen.length).toBeGreaterThan(before)
      // one retry for each 503, its body's end notwithstanding
      expect(await metricValue(gw, 'gateway_retries_total{upstream="order"}')).toBe(
        retriesBefore + failing.seen.length - before,
      )
      expect((await call(gw.port, '/health/live')).status).toBe(200)
    } finally {
      failing.failWith = undefined
      failing.cutFailures = false
    }
  })

  it('ejects an instance that went away, fails under 1 % meanwhile, and sends to it again once it is back', async () => {
    const [, gone] = order as [Instance, Instance, Instance]
    const port = gone.port
    const ejections = (await metricValue(gw, 'gateway_upstream_ejections_total{upstream="order"}'))!
    await gone.stop()
    const statuses = await load(1000)
    expect(statuses[200] ?? 0).toBeGreaterThanOrEqual(990)
    expect(await metricValue(gw, 'gateway_upstream_ejections_total{upstream="order"}')).toBeGreaterThan(
      ejections,
    )

    const seenBefore = gone.seen.length
    await gone.listen(port)
    await eventually(async () => {
      await load(30)
      return gone.seen.length > seenBefore || undefined
    })
  })
})

/** A sample's value in the gateway's /metrics (undefined when absent). */
async function metricValue(gw: Started, series: string): Promise<number | undefined> {
  const text = (await gw.metrics.exposition()).body
  const [name, labels = ''] = series.replace('}', '').split('{')
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const wanted = labels.split(',').filter(Boolean)
    if (wanted.every((l) => line.includes(l))) return Number(line.split(' ').pop())
  }
  return undefined
}

/** Polls `probe` until it gives something (at most 3 s). */
async function eventually<T>(probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 3000
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error('gave up waiting')
    await sleep(50)
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    sleep(ms).then(() => {
      throw new Error(`not within ${ms} ms`)
    }),
  ])
}
