// ServiceClient against real replicas on 127.0.0.1: balancing, ejection and return, retries on
// another replica, the breaker, headers. Each replica records what it was sent.
import http, { type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { UnavailableError, wasNotSent } from './errors.js'
import { ServiceClient, type ServiceClientOptions } from './http-client.js'

/** One replica of `payment`: counts calls (not readiness checks), and can be closed and reopened. */
interface Replica {
  port: number
  address: string
  /** calls per path, readiness checks left out */
  hits: Map<string, number>
  /** connections accepted */
  connections: number
  /** readiness checks answered */
  readyChecks: number
  /** the last call's url and headers */
  last: { url: string; headers: IncomingHttpHeaders; body: string } | undefined
  close(): Promise<void>
  listen(): Promise<void>
}

const replicas: Replica[] = []
const clients: ServiceClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await Promise.all(replicas.splice(0).map((r) => r.close()))
})

async function startReplica(): Promise<Replica> {
  let port = 0
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    if (url === '/health/ready') {
      replica.readyChecks++
      res.writeHead(200).end()
      return
    }
    replica.hits.set(url, (replica.hits.get(url) ?? 0) + 1)
    if (url === '/reset') {
      req.socket.destroy()
      return
    }
    if (url === '/slow') return // never answers
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      replica.last = { url, headers: req.headers, body }
      const status = url === '/fail' ? 500 : 200
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ port }))
    })
  })
  server.on('connection', () => replica.connections++)
  const replica: Replica = {
    port,
    address: '',
    hits: new Map(),
    connections: 0,
    readyChecks: 0,
    last: undefined,
    close: async () => {
      if (!server.listening) return
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
    listen: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  }
  await replica.listen()
  port = (server.address() as AddressInfo).port
  replica.port = port
  replica.address = `127.0.0.1:${port}`
  replicas.push(replica)
  return replica
}

/** A resolver for `payment` whose answer the test sets, counting its calls. */
function fakeDns(answer: string[] | Error) {
  const dns = {
    answer,
    calls: 0,
    resolve: async (host: string) => {
      dns.calls++
      if (host !== 'payment' || dns.answer instanceof Error)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
      return dns.answer
    },
  }
  return dns
}

function client(opts: Partial<ServiceClientOptions> = {}): ServiceClient {
  const c = new ServiceClient({
    target: 'payment',
    baseUrl: 'http://payment:3002',
    resolveIntervalMs: 60_000,
    healthIntervalMs: 60_000,
    ...opts,
  })
  clients.push(c)
  return c
}

const hitsOf = (r: Replica, path = '/hit') => r.hits.get(path) ?? 0

async function until(condition: () => boolean, timeoutMs: number, step: () => Promise<unknown>) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await step()
  }
}

describe('ServiceClient balancing over replicas', () => {
  it('spreads 300 sequential GETs within 15 % of even, over kept-alive connections', async () => {
    const rs = [await startReplica(), await startReplica(), await startReplica()]
    const dns = fakeDns(rs.map((r) => r.address))
    const c = client({ resolve: dns.resolve })
    for (let k = 0; k < 300; k++) expect((await c.call('GET', '/hit')).status).toBe(200)
    for (const r of rs) {
      expect(hitsOf(r)).toBeGreaterThanOrEqual(85)
      expect(hitsOf(r)).toBeLessThanOrEqual(115)
      // keep-alive without pinning: a connection or two per replica, not one per call
      expect(r.connections).toBeLessThanOrEqual(2)
    }
    expect(dns.calls).toBe(1)
  })

  it('spreads 10 concurrent callers too', async () => {
    const rs = [await startReplica(), await startReplica(), await startReplica()]
    const c = client({ resolve: fakeDns(rs.map((r) => r.address)).resolve })
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let k = 0; k < 30; k++) await c.call('GET', '/hit')
      }),
    )
    for (const r of rs) {
      expect(hitsOf(r)).toBeGreaterThanOrEqual(85)
      expect(hitsOf(r)).toBeLessThanOrEqual(115)
      expect(r.connections).toBeLessThanOrEqual(10)
    }
  })

  it('resolves once before the first calls, then again on its interval', async () => {
    const [a, b] = [await startReplica(), await startReplica()]
    const dns = fakeDns([a.address])
    const c = client({ resolve: dns.resolve, resolveIntervalMs: 50 })
    await Promise.all(Array.from({ length: 5 }, () => c.call('GET', '/hit')))
    expect(dns.calls).toBe(1)
    dns.answer = [a.address, b.address]
    await until(
      () => hitsOf(b) > 0,
      2000,
      () => c.call('GET', '/hit'),
    )
    expect(c.instances().map((i) => i.address)).toEqual([a.address, b.address])
  })

  it('keeps answering while a replica is down, ejects it, and uses it again once it is ready', async () => {
    const rs = [await startReplica(), await startReplica(), await startReplica()]
    const [down, ...others] = rs as [Replica, Replica, Replica]
    const dns = fakeDns(rs.map((r) => r.address))
    const c = client({ resolve: dns.resolve, healthIntervalMs: 500 })
    const started = Date.now()
    for (let k = 0; k < 30; k++) await c.call('GET', '/hit')
    // Closed right after a readiness round, so that failed calls eject it before the next round
    // finds it not ready; and a second after the first resolution, past the debounce of
    // re-resolution after a connection error.
    let checks = down.readyChecks
    await until(
      () => down.readyChecks > checks && Date.now() - started >= 1000,
      3000,
      async () => {
        if (down.readyChecks > checks) checks = down.readyChecks
        await sleep(5)
      },
    )
    await down.close()
    const before = hitsOf(down)
    await until(
      () => c.instances().find((i) => i.address === down.address)!.ejected,
      2000,
      async () => expect((await c.call('GET', '/hit')).status).toBe(200),
    )
    for (let k = 0; k < 30; k++) expect((await c.call('GET', '/hit')).status).toBe(200)
    expect(hitsOf(down)).toBe(before)
    expect(others.every((r) => hitsOf(r) > 20)).toBe(true)
    expect(dns.calls).toBeGreaterThan(1) // resolved again after the connection errors
    // back on the same port: its readiness passes at the next round, and calls reach it again
    await until(
      () => !c.instances().find((i) => i.address === down.address)!.ready,
      2000,
      () => sleep(20),
    )
    await down.listen()
    await until(
      () => hitsOf(down) > before,
      3000,
      async () => {
        expect((await c.call('GET', '/hit')).status).toBe(200)
        await sleep(10)
      },
    )
    expect(c.instances().find((i) => i.address === down.address)).toMatchObject({
      ready: true,
      ejected: false,
    })
  })

  it('does not retry a POST whose connection was reset', async () => {
    const rs = [await startReplica(), await startReplica(), await startReplica()]
    const c = client({ resolve: fakeDns(rs.map((r) => r.address)).resolve })
    await expect(c.call('POST', '/reset', { body: { amount: 1 } })).rejects.toThrow(
      /^payment is unreachable: /,
    )
    expect(rs.reduce((n, r) => n + hitsOf(r, '/reset'), 0)).toBe(1)
  })

  it('retries a 5xx GET on another replica each time, and opens the breaker after the threshold', async () => {
    const rs = [await startReplica(), await startReplica(), await startReplica()]
    const registry = new Registry()
    const c = client({
      resolve: fakeDns(rs.map((r) => r.address)).resolve,
      breaker: { failureThreshold: 3 },
      registry,
    })
    const err = await c.call('GET', '/fail').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnavailableError)
    expect((err as Error).message).toBe('payment is unavailable: payment answered 500')
    expect(wasNotSent(err)).toBe(false)
    expect(rs.map((r) => hitsOf(r, '/fail'))).toEqual([1, 1, 1])
    expect(c.breakerState).toBe('open')
    const rejected = await c.call('GET', '/fail').catch((e: unknown) => e)
    expect((rejected as Error).message).toBe('payment is unavailable: circuit breaker for payment is open')
    // nothing left this process: a saga step knows the callee applied nothing
    expect(wasNotSent(rejected)).toBe(true)
    expect(rs.reduce((n, r) => n + hitsOf(r, '/fail'), 0)).toBe(3)
    // one series for the target: the client's breaker, not the replicas' upstream's as well
    const state = await registry.getSingleMetric('circuit_breaker_state')!.get()
    expect(state.values).toEqual([{ labels: { target: 'payment' }, value: 1 }])
  })

  it('gives up at the deadline', async () => {
    const r = await startReplica()
    const c = client({ resolve: fakeDns([r.address]).resolve, timeoutMs: 100, maxAttempts: 1 })
    const started = Date.now()
    await expect(c.call('GET', '/slow')).rejects.toThrow('payment is unavailable: timed out after 100 ms')
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it("passes the request id, the trace context and the body on, with the target's Host", async () => {
    const r = await startReplica()
    const c = client({ resolve: fakeDns([r.address]).resolve })
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const res = await c.call('POST', '/hit', { body: { amount: 5 }, requestId: 'req-1', traceparent })
    expect(res).toEqual({ status: 200, body: { port: r.port } })
    expect(r.last!.headers).toMatchObject({
      host: 'payment:3002',
      accept: 'application/json',
      'content-type': 'application/json',
      'x-request-id': 'req-1',
      traceparent,
    })
    expect(r.last!.body).toBe('{"amount":5}')
  })

  it('sends extra headers (an idempotency key) without letting them replace its own', async () => {
    const r = await startReplica()
    const c = client({ resolve: fakeDns([r.address]).resolve })
    await c.call('POST', '/hit', {
      body: {},
      headers: { 'idempotency-key': 'sg_1:charge', accept: 'text/plain', 'x-request-id': 'theirs' },
      requestId: 'req-2',
    })
    expect(r.last!.headers).toMatchObject({
      'idempotency-key': 'sg_1:charge',
      accept: 'application/json',
      'x-request-id': 'req-2',
    })
  })

  it("stops at the caller's signal: the attempt in flight and any retry after it", async () => {
    const r = await startReplica()
    const c = client({ resolve: fakeDns([r.address]).resolve, timeoutMs: 5000, maxAttempts: 3 })
    const started = Date.now()
    await expect(c.call('GET', '/slow', { signal: AbortSignal.timeout(100) })).rejects.toThrow(
      UnavailableError,
    )
    expect(Date.now() - started).toBeLessThan(1000)
    expect(hitsOf(r, '/slow')).toBe(1)
    const aborted = AbortSignal.abort()
    await expect(c.call('GET', '/hit', { signal: aborted })).rejects.toThrow()
    expect(hitsOf(r)).toBe(0)
  })

  it('resolves paths against a base URL with a path prefix, as new URL(path, baseUrl) does', async () => {
    const r = await startReplica()
    const c = client({ baseUrl: 'http://payment:3002/v1/', resolve: fakeDns([r.address]).resolve })
    await c.call('GET', 'orders?x=1')
    expect(r.last!.url).toBe('/v1/orders?x=1')
    await c.call('GET', '/health/live')
    expect(r.last!.url).toBe('/health/live')
    await expect(c.call('GET', 'http://elsewhere:1/x')).rejects.toThrow(/leads away from/)
  })

  it('refuses a base URL that is not plain http', () => {
    expect(() => client({ baseUrl: 'https://payment:3002' })).toThrow(/must be http:\/\/host:port/)
    expect(() => client({ baseUrl: 'payment' })).toThrow(/is not a URL/)
  })

  it('calls a target that does not resolve unreachable', async () => {
    const c = client({ target: 'nowhere', baseUrl: 'http://nowhere:3002', resolve: fakeDns([]).resolve })
    await expect(c.call('GET', '/hit')).rejects.toThrow(
      /^nowhere is unreachable: nowhere:3002 resolves to no address$/,
    )
    const empty = client({ resolve: fakeDns([]).resolve })
    await expect(empty.call('GET', '/hit')).rejects.toBeInstanceOf(UnavailableError)
  })

  it('refuses calls once closed', async () => {
    const r = await startReplica()
    const c = client({ resolve: fakeDns([r.address]).resolve })
    await c.call('GET', '/hit')
    await c.close()
    await expect(c.call('GET', '/hit')).rejects.toThrow('payment is unavailable: its client is closed')
  })
})

describe('ServiceClient with a custom fetch', () => {
  it('sends to new URL(path, baseUrl) through it, with no replicas of its own', async () => {
    const seen: string[] = []
    const c = client({
      baseUrl: 'https://payment.example/v1/',
      fetch: async (url) => {
        seen.push(String(url))
        return new Response('{"ok":true}', { status: 200 })
      },
    })
    expect(await c.call('GET', 'orders')).toEqual({ status: 200, body: { ok: true } })
    expect(seen).toEqual(['https://payment.example/v1/orders'])
    expect(c.instances()).toEqual([])
  })
})
