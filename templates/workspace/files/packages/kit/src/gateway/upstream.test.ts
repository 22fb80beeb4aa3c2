import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.js'
import { parseTarget, toAddress, Upstream, type UpstreamOptions } from './upstream.js'

const quiet = createLogger(
  'test',
  'info',
  new Writable({
    write: (_chunk, _enc, cb) => cb(),
  }),
)

const made: Upstream[] = []
afterEach(async () => {
  await Promise.all(made.splice(0).map((u) => u.close()))
})

function upstream(opts: Partial<UpstreamOptions> & Pick<UpstreamOptions, 'resolve'>): Upstream {
  const u = new Upstream({
    name: 'order',
    target: 'http://order:3001',
    logger: quiet,
    resolveIntervalMs: 60_000,
    healthIntervalMs: 60_000,
    ...opts,
  })
  made.push(u)
  return u
}

/** A resolver whose answer the test sets, counting its calls. */
function fakeDns(initial: string[] | Error) {
  const dns = {
    answer: initial,
    calls: 0,
    resolve: async (host: string) => {
      expect(host).toBe('order')
      dns.calls++
      if (dns.answer instanceof Error) throw dns.answer
      return dns.answer
    },
  }
  return dns
}

const addresses = (u: Upstream) => u.instances().map((i) => i.address)

describe('toAddress', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5:3001'],
    ['fd00::5', '[fd00::5]:3001'],
    ['127.0.0.1:4000', '127.0.0.1:4000'],
    ['[::1]:4000', '[::1]:4000'],
    ['replica-2:4000', 'replica-2:4000'],
    ['10.0.0.5:70000', undefined],
    ['[nonsense]:4000', undefined],
    ['has space:1', undefined],
    ['', undefined],
  ])('%s → %s', (resolved, address) => {
    expect(toAddress(resolved, 3001)).toBe(address)
  })
})

describe('parseTarget', () => {
  it('reads host, port and authority', () => {
    expect(parseTarget('http://order:3001')).toEqual({ host: 'order', port: 3001, authority: 'order:3001' })
    expect(parseTarget('http://[::1]:8080')).toEqual({ host: '::1', port: 8080, authority: '[::1]:8080' })
    expect(parseTarget('http://order')).toEqual({ host: 'order', port: 80, authority: 'order' })
  })

  it.each([
    'order:3001',
    'https://order:3001',
    'http://order:3001/api',
    'http://u:p@order',
    'http://order?x',
  ])('refuses %s', (target) => {
    expect(() => parseTarget(target)).toThrow(/upstream target/)
  })
})

describe('Upstream discovery', () => {
  it('resolves on start, then again on its interval; known instances keep their state', async () => {
    const dns = fakeDns(['10.0.0.1', '10.0.0.2'])
    const u = upstream({ resolve: dns.resolve, resolveIntervalMs: 50, healthTimeoutMs: 1 })
    await u.resolveNow()
    expect(addresses(u)).toEqual(['10.0.0.1:3001', '10.0.0.2:3001'])
    dns.answer = ['10.0.0.2', '10.0.0.3']
    await u.start()
    expect(addresses(u)).toEqual(['10.0.0.2:3001', '10.0.0.3:3001'])
    dns.answer = ['10.0.0.3']
    await sleep(120)
    expect(addresses(u)).toEqual(['10.0.0.3:3001'])
    expect(dns.calls).toBeGreaterThanOrEqual(3)
  })

  it('closes the pool of an instance that is gone', async () => {
    const dns = fakeDns(['10.0.0.1', '10.0.0.2'])
    const u = upstream({ resolve: dns.resolve })
    await u.resolveNow()
    const picked = [u.pick()!, u.pick()!]
    for (const p of picked) p.done(true)
    const gone = picked.find((p) => p.address === '10.0.0.1:3001')!
    const kept = picked.find((p) => p.address === '10.0.0.2:3001')!
    dns.answer = ['10.0.0.2']
    await u.resolveNow()
    expect(gone.pool.closed).toBe(true)
    expect(kept.pool.closed).toBe(false)
    expect(u.pick()!.pool).toBe(kept.pool)
  })

  it('keeps the instances it knows when a lookup fails', async () => {
    const dns = fakeDns(['10.0.0.1'])
    const u = upstream({ resolve: dns.resolve })
    await u.resolveNow()
    dns.answer = new Error('getaddrinfo EAI_AGAIN order')
    await u.resolveNow()
    expect(addresses(u)).toEqual(['10.0.0.1:3001'])
  })

  it('resolves again after a connection error, at most once a second', async () => {
    let now = 1_000_000
    const dns = fakeDns(['10.0.0.1'])
    const u = upstream({ resolve: dns.resolve, now: () => now })
    await u.resolveNow()
    now += 1000
    for (let k = 0; k < 10; k++) u.connectionFailed()
    await u.resolveNow() // joins the one under way
    expect(dns.calls).toBe(2)
    now += 999
    u.connectionFailed()
    expect(dns.calls).toBe(2)
    now += 1
    u.connectionFailed()
    await u.resolveNow()
    expect(dns.calls).toBe(3)
  })

  it('stops resolving and checking once closed', async () => {
    const dns = fakeDns(['10.0.0.1'])
    const u = upstream({ resolve: dns.resolve, resolveIntervalMs: 20, healthTimeoutMs: 1 })
    await u.start()
    const picked = u.pick()!
    picked.done(true)
    await u.close()
    const calls = dns.calls
    await sleep(80)
    expect(dns.calls).toBe(calls)
    expect(picked.pool.closed || picked.pool.destroyed).toBe(true)
  })
})

describe('Upstream health checks', () => {
  let server: http.Server | undefined
  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  })

  it('asks each instance for /health/ready and leaves out those not ready', async () => {
    let status = 503
    const asked: (string | undefined)[] = []
    server = http.createServer((req, res) => {
      asked.push(`${req.url} ${req.headers.host}`)
      res.statusCode = status
      res.end()
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const u = upstream({ resolve: async () => [`127.0.0.1:${port}`, '127.0.0.1:1'] })
    await u.resolveNow()
    expect(u.hasUsableInstance()).toBe(true) // ready until a check says otherwise
    await u.checkHealth()
    expect(asked).toEqual(['/health/ready order:3001'])
    expect(u.instances().map((i) => i.ready)).toEqual([false, false])
    expect(u.hasUsableInstance()).toBe(false)
    status = 200
    await u.checkHealth()
    expect(u.instances().map((i) => i.ready)).toEqual([true, false])
    expect(u.hasUsableInstance()).toBe(true)
  })

  it('counts an instance that does not answer within the timeout as not ready', async () => {
    server = http.createServer(() => {}) // never answers
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const u = upstream({ resolve: async () => [`127.0.0.1:${port}`], healthTimeoutMs: 100 })
    await u.resolveNow()
    const started = Date.now()
    await u.checkHealth()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(u.hasUsableInstance()).toBe(false)
  })
})
