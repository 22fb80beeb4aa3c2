import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseWorkspace } from '../../src/core/workspace/parse.js'
import { MASK } from '../../src/core/dashboard/secrets.js'
import type { HealthSnapshot } from '../../src/core/dashboard/status.js'
import { hostDashboard, type HostedDashboard } from '../../src/io/dashboard/host.js'
import { CONTENT_SECURITY_POLICY } from '../../src/io/dashboard/server.js'
import { dashboardYaml, exportCheckoutTrace, startFakeService } from '../helpers/dashboard.js'
import { FakeEngine } from '../helpers/fake-edges.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue #18: the dashboard's server in process, with no Docker: a fake engine and a stand-in
// service for health and metrics, spans exported by the OpenTelemetry SDK, log lines from a fake
// log stream, a load report on disk. The page itself is tested in dashboard-browser.test.ts.

let root: string
let fake: Awaited<ReturnType<typeof startFakeService>>
let engine: FakeEngine
let dash: HostedDashboard
let url: string
let orderId: string
const logWrites: ((service: string, line: string) => void)[] = []

beforeAll(async () => {
  root = await makeTempDir('msvc-dash-')
  fake = await startFakeService()
  await writeFile(join(root, 'msvc.yaml'), dashboardYaml(fake.port))
  await mkdir(join(root, 'load'))
  await writeFile(
    join(root, 'load', 'run.json'),
    JSON.stringify({
      target: `http://127.0.0.1:${fake.port}/orders`,
      model: 'open',
      startedAt: new Date(Date.now() - 60_000).toISOString(),
      durationMs: 10_000,
      latency: { p50: 1, p99: 5 },
      timeline: [{ t: 0, requests: 10, errors: 0, p50: 1, p90: 2, p99: 5, p999: 6, max: 7 }],
      thresholds: [],
      passed: true,
      chaos: [{ label: 'kill payment', startMs: 2000, endMs: 5000 }],
    }),
  )
  // a fault held in the chaos ledger, as `msvc chaos latency payment 200ms` leaves it
  await mkdir(join(root, '.msvc'))
  await writeFile(
    join(root, '.msvc', 'chaos-ledger.json'),
    JSON.stringify({
      version: 1,
      faults: [
        {
          id: 'f1',
          service: 'payment',
          spec: { kind: 'latency', delayMs: 200, jitterMs: 0 },
          targets: [],
          ports: [3902],
          appliedAt: new Date().toISOString(),
          state: 'active',
        },
      ],
    }),
  )
  const parsed = parseWorkspace(dashboardYaml(fake.port))
  if (!parsed.ok) throw new Error('bad yaml')
  engine = new FakeEngine()
  orderId = engine.add('dashshop', 'order', { httpPort: fake.port })
  engine.add('dashshop', 'payment', { httpPort: 3902 })
  dash = await hostDashboard({
    root,
    ws: parsed.workspace,
    version: '0.0.0-test',
    assetsDir: join(root, 'no-assets'),
    port: 0,
    otlpPort: 0,
    bridge: false,
    engine,
    followLogs: async (write, signal) => {
      logWrites.push(write)
      await new Promise((r) => signal.addEventListener('abort', r))
    },
  })
  url = dash.server.url
})

afterAll(async () => {
  await dash?.close()
  await fake?.close()
  await rm(root, { recursive: true, force: true })
})

const get = async <T>(path: string): Promise<T> => {
  const r = await fetch(`${url}${path}`)
  expect(r.status, path).toBe(200)
  return (await r.json()) as T
}

/** Reads server-sent events until `until` says enough (or the time is up). */
async function readEvents(
  until: (events: { event: string; data: unknown }[]) => boolean,
  timeoutMs = 5000,
): Promise<{ event: string; data: unknown }[]> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), timeoutMs)
  const events: { event: string; data: unknown }[] = []
  try {
    const r = await fetch(`${url}/api/events`, { signal: ac.signal })
    expect(r.headers.get('content-type')).toBe('text/event-stream')
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let i
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event && data) events.push({ event, data: JSON.parse(data) })
      }
      if (until(events)) break
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  return events
}

describe('msvc dashboard server', () => {
  it('serves the graph from msvc.yaml, secrets masked', async () => {
    const g = await get<{ nodes: { id: string; env: Record<string, string> }[]; edges: unknown[] }>(
      '/api/graph',
    )
    expect(g.nodes.map((n) => n.id)).toEqual(['notification', 'order', 'payment', 'nats'])
    const order = g.nodes.find((n) => n.id === 'order')!
    expect(order.env.PAYMENT_API_KEY).toBe(MASK)
    expect(order.env.CURRENCY).toBe('EUR')
    expect(g.edges).toContainEqual({ from: 'order', to: 'payment', kind: 'call' })
    expect(g.edges).toContainEqual({
      from: 'order',
      to: 'notification',
      kind: 'event',
      events: ['order.created'],
    })
  })

  it('shows a service up with its RED figures and breakers, then down within 2 s of its container dying', async () => {
    const upEvents = await readEvents((ev) =>
      ev.some((e) => e.event === 'health' && (e.data as HealthSnapshot).services.order?.red?.rate),
    )
    const up = upEvents.map((e) => e.data as HealthSnapshot).findLast((s) => s.services.order?.red?.rate)!
    expect(up.services.order).toMatchObject({ status: 'up', breakers: { payment: 'open' } })
    expect(up.services.order!.red!.rate).toBeGreaterThan(0)
    expect(up.services.order!.red!.p99Ms).toBeGreaterThan(5)
    expect(up.services.order!.replicas[0]).toMatchObject({ state: 'running', ready: 200 })
    // payment's container runs but nothing answers on its port: not ready, so down
    expect(up.services.payment!.status).toBe('down')
    expect(up.services.notification!.status).toBe('stopped')
    expect(up.faults).toEqual([expect.objectContaining({ service: 'payment', label: 'latency +200ms' })])

    const killedAt = Date.now()
    await engine.getContainer(orderId).kill()
    const downEvents = await readEvents((ev) =>
      ev.some((e) => e.event === 'health' && (e.data as HealthSnapshot).services.order?.status === 'down'),
    )
    const down = downEvents.find((e) => (e.data as HealthSnapshot).services.order?.status === 'down')
    expect(down).toBeDefined()
    expect(Date.now() - killedAt).toBeLessThan(2000)
    await engine.getContainer(orderId).start()
  })

  it('takes spans from the OpenTelemetry SDK and lists, searches and draws the trace', async () => {
    const traceId = await exportCheckoutTrace(url)
    const list = await get<{ traces: { traceId: string; spanCount: number; errorCount: number }[] }>(
      `/api/traces?service=payment&status=error`,
    )
    expect(list.traces).toEqual([expect.objectContaining({ traceId, spanCount: 5, errorCount: 1 })])
    expect((await get<{ traces: unknown[] }>('/api/traces?status=ok')).traces).toEqual([])
    expect((await get<{ traces: unknown[] }>('/api/traces?minMs=600000')).traces).toEqual([])
    expect(
      (await get<{ traces: unknown[] }>(`/api/traces?traceId=${traceId.slice(0, 8)}`)).traces,
    ).toHaveLength(1)
    const t = await get<{ rows: { depth: number; span: { service: string; name: string } }[] }>(
      `/api/traces/${traceId}`,
    )
    expect(t.rows.map((r) => [r.depth, r.span.service, r.span.name])).toEqual([
      [0, 'gateway', 'POST /api/orders'],
      [1, 'gateway', 'POST'],
      [2, 'order', 'POST /orders'],
      [3, 'order', 'POST'],
      [4, 'payment', 'POST /payments'],
    ])
    expect((await fetch(`${url}/api/traces/${'0'.repeat(32)}`)).status).toBe(404)
  })

  it('tells the pages of new spans by SSE', async () => {
    const events = readEvents((ev) => ev.some((e) => e.event === 'traces'))
    await new Promise((r) => setTimeout(r, 200))
    await exportCheckoutTrace(url)
    expect((await events).some((e) => e.event === 'traces')).toBe(true)
  })

  it('merges live logs and filters them; new lines arrive by SSE', async () => {
    expect(logWrites.length).toBeGreaterThan(0)
    const write = logWrites.at(-1)!
    const events = readEvents((ev) => ev.some((e) => e.event === 'logs'))
    await new Promise((r) => setTimeout(r, 200))
    write('order', JSON.stringify({ level: 'info', msg: 'created', requestId: 'r-1', trace_id: 'AB12' }))
    write('order', JSON.stringify({ level: 'error', msg: 'payment failed', requestId: 'r-2' }))
    write('payment', 'plain text line')
    expect((await events).find((e) => e.event === 'logs')!.data).toHaveLength(3)
    const msgs = async (q: string) => (await get<{ msg: string }[]>(`/api/logs?${q}`)).map((e) => e.msg)
    expect(await msgs('service=order')).toEqual(['created', 'payment failed'])
    expect(await msgs('level=error')).toEqual(['payment failed'])
    expect(await msgs('requestId=r-1')).toEqual(['created'])
    expect(await msgs('traceId=ab12')).toEqual(['created'])
    expect(await msgs('text=PLAIN')).toEqual(['plain text line'])
  })

  it('lists the workspace’s runs and serves only those', async () => {
    const runs = await get<{ id: string; kind: string; faults: unknown[] }[]>('/api/runs')
    expect(runs).toEqual([
      expect.objectContaining({
        id: 'load/run.json',
        kind: 'load',
        faults: [{ label: 'kill payment', startMs: 2000, endMs: 5000 }],
      }),
    ])
    expect((await get<{ summary: { id: string } }>('/api/run?id=load%2Frun.json')).summary.id).toBe(
      'load/run.json',
    )
    expect((await fetch(`${url}/api/run?id=msvc.yaml`)).status).toBe(404)
    expect((await fetch(`${url}/api/run?id=..%2F..%2Fetc%2Fpasswd`)).status).toBe(404)
  })

  it('answers loopback hosts only, with a Content-Security-Policy', async () => {
    const r = await fetch(`${url}/api/graph`)
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'")
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(url)
      request(
        { host: u.hostname, port: u.port, path: '/api/graph', headers: { host: 'attacker.test' } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
        .on('error', reject)
        .end()
    })
    expect(status).toBe(421)
    expect((await fetch(`${url}/api/graph`, { method: 'POST' })).status).toBe(405)
  })
})
