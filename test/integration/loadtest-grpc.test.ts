// gRPC unary calls in `msvc loadtest` (issue 7): the built bin loads the workspace's generated
// client and calls a generated gRPC server, running as its own process on 127.0.0.1, over HTTP/2.
import { execa, type ResultPromise } from 'execa'
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LoadReport } from '../../src/core/loadtest/report.js'
import { msvc } from '../helpers/cli.js'
import { REPO } from '../helpers/cli.js'
import {
  bundleEntry,
  bundleService,
  createLinkedWorkspace,
  startService,
  waitForPort,
  type RunningService,
} from '../helpers/grpc-workspace.js'
import { freePort } from '../helpers/net.js'
import { makeTempDir } from '../helpers/temp-dir.js'

let tmp: string
let root: string
let order: RunningService
const procs: ResultPromise[] = []

beforeAll(async () => {
  tmp = await makeTempDir('msvc-loadtest-grpc-')
  root = await createLinkedWorkspace(tmp, [['order', '--http', '--grpc']])
  await bundleService(root, 'order')
  order = await startService(root, 'order')
  procs.push(order.proc)
  // msvc.yaml names the ports the service runs on here, so service targets find it
  const yamlPath = join(root, 'msvc.yaml')
  const yaml = await readFile(yamlPath, 'utf8')
  const moved = yaml.replace(
    /ports: \{ http: \d+, grpc: \d+ \}/,
    `ports: { http: ${order.httpPort}, grpc: ${order.grpcPort} }`,
  )
  expect(moved).not.toBe(yaml)
  await writeFile(yamlPath, moved)
}, 120_000)

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.allSettled(procs)
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

const scenario = async (name: string, text: string) => {
  await writeFile(join(root, name), text)
  return name
}
const run = (args: string[]) => msvc(['loadtest', ...args], { cwd: root })

describe('msvc loadtest with gRPC calls (real HTTP/2 server on 127.0.0.1)', () => {
  it('open model: HTTP and gRPC in one mix at 100/s, a row per call, NOT_FOUND an error unless expected', async () => {
    const file = await scenario(
      'mixed.yaml',
      `target: order
rate: 100
duration: 3s
thresholds: [p99<2s]
requests:
  - name: list orders
    path: /orders?limit=5
    expect: 200
  - grpc: { service: order, method: CreateOrder, message: { name: "load {{uuid}}", status: active } }
  - grpc: { service: order, method: GetOrder, message: { id: "missing-{{seq}}" } }
  - name: get missing, expected
    grpc: { service: order, method: GetOrder, message: { id: missing }, metadata: { x-tenant: load }, deadline: 1s }
    expect: [OK, NOT_FOUND]
`,
    )
    const r = await run(['-f', file, '--json', '--html', 'mixed.html'])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report).toMatchObject({ model: 'open', targetRate: 100, requests: 300, errors: 75, passed: true })
    expect(Math.abs(report.achievedRate - 100) / 100).toBeLessThan(0.02)
    expect(
      report.endpoints.map((e) => [e.name, e.protocol, e.path, e.requests, e.errors, e.statuses]),
    ).toEqual([
      ['list orders', undefined, '/orders?limit=5', 75, 0, { 200: 75 }],
      ['order.CreateOrder', 'grpc', '/shop.order.v1.OrderService/CreateOrder', 75, 0, { OK: 75 }],
      ['order.GetOrder', 'grpc', '/shop.order.v1.OrderService/GetOrder', 75, 75, { NOT_FOUND: 75 }],
      ['get missing, expected', 'grpc', '/shop.order.v1.OrderService/GetOrder', 75, 0, { NOT_FOUND: 75 }],
    ])
    for (const e of report.endpoints) expect(e.latency.count).toBe(75)
    const html = await readFile(join(root, 'mixed.html'), 'utf8')
    expect(html).toContain('<td>order.GetOrder</td>')
    expect(html).toContain('NOT_FOUND 75')
    // what the calls created is there, through the other protocol
    const listed = (await (await fetch(`http://127.0.0.1:${order.httpPort}/orders?limit=100`)).json()) as {
      items: { name: string }[]
    }
    expect(listed.items.filter((o) => o.name.startsWith('load ')).length).toBeGreaterThanOrEqual(75)
  })

  it('a threshold that the unexpected NOT_FOUNDs break exits 2; the terminal table has the gRPC rows', async () => {
    const file = await scenario(
      'breach.yaml',
      `rate: 50
duration: 1s
thresholds: [errors<1%]
requests:
  - grpc: { service: order, method: ListOrders, message: { page_size: "{{randomInt 1 20}}" } }
  - grpc: { service: order, method: GetOrder, message: { id: nope } }
`,
    )
    const r = await run(['-f', file])
    expect(r.exitCode).toBe(2)
    expect(r.stdout).toMatch(/^order\.ListOrders\s+25\s+0\s/m)
    expect(r.stdout).toMatch(/^order\.GetOrder\s+25\s+25\s/m)
    expect(r.stdout).toContain('statuses: NOT_FOUND 25, OK 25')
    expect(r.stdout).toMatch(/✖ errors<1% \(actual 50\.00%\)/)
    expect(r.stderr).toContain('threshold errors<1% breached')
  })

  it('closed model: --connections keeps that many calls in flight', async () => {
    const file = await scenario(
      'closed.yaml',
      `requests:
  - grpc: { service: order, method: ListOrders, message: { page_size: 5 } }
`,
    )
    const r = await run(['-f', file, '-c', '2', '-d', '1s', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report).toMatchObject({ model: 'closed', connections: 2, errors: 0 })
    expect(report.requests).toBeGreaterThan(20)
    expect(report.endpoints[0]!.statuses).toEqual({ OK: report.requests })
  })

  it('msvc loadtest <service> --grpc loads List and Create through the generated client', async () => {
    const r = await run(['order', '--grpc', '-r', '50', '-d', '1s', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report.endpoints.map((e) => [e.name, e.requests, e.errors])).toEqual([
      ['order.ListOrders', 40, 0],
      ['order.CreateOrder', 10, 0],
    ])
  })

  it('bad calls and a workspace without generated clients fail with one line and a hint, exit 1', async () => {
    const bad = await scenario('bad.yaml', 'requests: [{ grpc: { service: order, method: GetOrdr } }]\n')
    const r = await run(['-f', bad, '-d', '1s'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('✖ bad.yaml: requests[0].grpc.method: order has no method GetOrdr')
    expect(r.stderr).toContain(
      'hint: methods of order: CreateOrder, GetOrder, ListOrders, UpdateOrder, DeleteOrder',
    )
    const field = await scenario(
      'field.yaml',
      'requests: [{ grpc: { service: order, method: GetOrder, message: { uid: x } } }]\n',
    )
    expect((await run(['-f', field])).stderr).toContain(
      'requests[0].grpc.message.uid: GetOrderRequest has no field uid (fields: id)',
    )
    const gen = join(root, 'packages/clients/src/gen')
    await rename(gen, `${gen}.away`)
    try {
      const missing = await run(['order', '--grpc', '-d', '1s'])
      expect(missing.exitCode).toBe(1)
      expect(missing.stderr).toContain('order has no generated gRPC client')
      expect(missing.stderr).toContain('hint: run `msvc proto gen` in the workspace')
    } finally {
      await rename(`${gen}.away`, gen)
    }
  })
})

describe('msvc loadtest against a gRPC server that stalls or fails on purpose (its own process)', () => {
  let fault: string
  let seen: () => Promise<Record<string, number>>

  beforeAll(async () => {
    const bundle = await bundleEntry(root, 'faultapi', "export * from '@shop/clients'")
    const port = await freePort()
    const p = execa('node', [join(REPO, 'test/helpers/grpc-fault-server.mjs'), bundle, String(port)], {
      reject: false,
      cwd: REPO,
    })
    procs.push(p)
    await waitForPort(port)
    fault = `127.0.0.1:${port}`
    // the server's own count of the calls it received (a getOrder of id "counts", itself not counted)
    seen = async () => {
      const script = `const api = await import(${JSON.stringify(pathToFileURL(bundle).href)})
        const c = api.createOrderServiceClient({ address: ${JSON.stringify(fault)} })
        console.log((await c.getOrder({ id: 'counts' })).order.name)
        c.close()`
      const r = await execa('node', ['--input-type=module', '-e', script], { cwd: root })
      return JSON.parse(r.stdout) as Record<string, number>
    }
  }, 60_000)

  it('a call past its deadline is DEADLINE_EXCEEDED; one still pending after --timeout at the end is CANCELLED', async () => {
    const f = await scenario(
      'stall.yaml',
      `rate: 10
duration: 1s
requests:
  - name: past deadline
    grpc: { service: order, method: GetOrder, address: "${fault}", message: { id: stall-400 }, deadline: 100ms }
  - name: pending at the end
    grpc: { service: order, method: GetOrder, address: "${fault}", message: { id: stall-5000 }, deadline: 10s }
`,
    )
    const t0 = Date.now()
    const r = await run(['-f', f, '--timeout', '300ms', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    // the calls still in flight are cancelled: msvc does not wait for the 5 s the server stalls
    expect(Date.now() - t0).toBeLessThan(5000)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report.endpoints.map((e) => [e.name, e.requests, e.errors, e.statuses])).toEqual([
      ['past deadline', 5, 5, { DEADLINE_EXCEEDED: 5 }],
      ['pending at the end', 5, 5, { CANCELLED: 5 }],
    ])
    // grpc-js sets the deadline as a Date, in whole milliseconds: it may end up to 1 ms before
    // 100 ms measured on the high-resolution clock from the call's start (99.84 ms was seen)
    expect(report.endpoints[0]!.latency.p50).toBeGreaterThanOrEqual(99)
  })

  it('resilience off: one attempt per call; client: the generated client retries idempotent calls, and its breaker opens', async () => {
    /** Runs `calls` GetOrder calls that fail UNAVAILABLE; returns the attempts the server saw. */
    const attempts = async (resilience: string, calls: number) => {
      const f = await scenario(
        `res-${resilience}-${calls}.yaml`,
        `grpc: { resilience: ${resilience} }
rate: ${calls}
duration: 1s
requests: [{ grpc: { service: order, method: GetOrder, address: "${fault}", message: { id: unavailable } } }]
`,
      )
      const before = (await seen()).getOrder!
      // (every call failing, the run ends with "answered none": exit 1; the report is still written)
      const r = await run(['-f', f, '--json'])
      expect((JSON.parse(r.stdout) as LoadReport).endpoints[0]!.statuses).toEqual({ UNAVAILABLE: calls })
      return (await seen()).getOrder! - before
    }
    expect(await attempts('off', 1)).toBe(1)
    expect(await attempts('off', 10)).toBe(10)
    expect(await attempts('client', 1)).toBe(3) // the client's default: 3 attempts for an idempotent call
    // its breaker opens after 5 failed attempts and fails the later calls without sending them
    expect(await attempts('client', 10)).toBeLessThan(10)
  })

  it('warns when a channel cannot connect within 3 s, and counts its calls as UNAVAILABLE', async () => {
    const closed = await freePort()
    const f = await scenario(
      'closed.yaml',
      `rate: 5\nduration: 1s\nrequests: [{ grpc: { service: order, method: ListOrders, address: "127.0.0.1:${closed}" } }]\n`,
    )
    const r = await run(['-f', f, '--json'])
    expect(r.stderr).toContain(
      `gRPC 127.0.0.1:${closed}: not connected after 3 s; calls to it fail (is the service up?)`,
    )
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report.endpoints[0]).toMatchObject({ requests: 5, errors: 5, statuses: { UNAVAILABLE: 5 } })
  })

  it('removes the clients bundle it loaded, and names a workspace without node_modules with a hint', async () => {
    expect(await readdir(join(root, '.msvc/loadtest'))).toEqual([])
    await rename(join(root, 'node_modules'), join(root, 'node_modules.away'))
    try {
      const r = await run(['order', '--grpc', '-d', '1s'])
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toContain('@grpc/grpc-js is not installed in the workspace')
      expect(r.stderr).toContain('hint: run `npm install` in the workspace (after `msvc proto gen`)')
    } finally {
      await rename(join(root, 'node_modules.away'), join(root, 'node_modules'))
    }
  })
})
