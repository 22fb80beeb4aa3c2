import { execa, type ResultPromise } from 'execa'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

// Issue 3: the generated client calls the generated server, each in its own process, over real
// HTTP/2 on 127.0.0.1; then the client's resilience against a server that fails or stalls on purpose.

/* eslint-disable @typescript-eslint/no-explicit-any -- the bundle is the generated code, typed in the workspace */
let tmp: string
let root: string
let api: any
let order: RunningService
const procs: ResultPromise[] = []

const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: any) => (e instanceof api.GrpcCallError ? api.GrpcStatus[e.code] : String(e)),
  )

beforeAll(async () => {
  tmp = await makeTempDir('msvc-grpc-')
  root = await createLinkedWorkspace(tmp, [
    ['order', '--http', '--grpc'],
    ['checkout', '--http', '--calls', 'order'],
  ])
  await Promise.all([bundleService(root, 'order'), bundleService(root, 'checkout')])
  const bundle = await bundleEntry(
    root,
    'api',
    [
      "export * from '@shop/clients'",
      "export { GrpcCallError, GrpcStatus, HealthService, SERVING_STATUS } from '@shop/kit/grpc'",
      "export { credentials, Metadata } from '@grpc/grpc-js'",
    ].join('\n'),
  )
  api = await import(pathToFileURL(bundle).href)
  order = await startService(root, 'order')
  procs.push(order.proc)
}, 120_000)

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.allSettled(procs)
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('generated client -> generated server (separate processes)', () => {
  it('serves every RPC of the CRUD with its status codes', async () => {
    const c = api.createOrderServiceClient({ address: `127.0.0.1:${order.grpcPort}`, maxAttempts: 1 })
    try {
      const created = (await c.createOrder({ name: 'first', description: 'd' })).order
      expect(created).toMatchObject({
        name: 'first',
        description: 'd',
        version: 1,
        status: 'active',
      })
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(await codeOf(c.createOrder({ name: 'first' }))).toBe('ALREADY_EXISTS')
      expect(await codeOf(c.createOrder({ name: '' }))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(c.createOrder({ name: 'x', status: 'gone' }))).toBe('INVALID_ARGUMENT')
      expect((await c.getOrder({ id: created.id })).order).toEqual(created)
      expect(await codeOf(c.getOrder({ id: 'nope' }))).toBe('NOT_FOUND')
      expect(await codeOf(c.getOrder({ id: '' }))).toBe('INVALID_ARGUMENT')
      await c.createOrder({ name: 'second', status: 'inactive' })
      const first = await c.listOrders({ pageSize: 1 })
      expect(first.orders.map((o: any) => o.name)).toEqual(['first'])
      const second = await c.listOrders({ pageSize: 1, pageToken: first.nextPageToken })
      expect(second.orders.map((o: any) => [o.name, o.status])).toEqual([['second', 'inactive']])
      expect(second.nextPageToken).toBe('')
      expect(await codeOf(c.listOrders({ pageSize: 101 }))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(c.listOrders({ pageToken: 'garbage' }))).toBe('INVALID_ARGUMENT')
      const updated = (await c.updateOrder({ id: created.id, name: 'renamed', version: 1 })).order
      expect(updated).toMatchObject({ name: 'renamed', version: 2, description: 'd' })
      expect(await codeOf(c.updateOrder({ id: created.id, name: 'stale', version: 1 }))).toBe('ABORTED')
      expect(await codeOf(c.updateOrder({ id: created.id, name: 'second' }))).toBe('ALREADY_EXISTS')
      expect(await codeOf(c.updateOrder({ id: 'nope', name: 'x' }))).toBe('NOT_FOUND')
      expect(await c.deleteOrder({ id: created.id })).toEqual({})
      expect(await codeOf(c.deleteOrder({ id: created.id }))).toBe('NOT_FOUND')
      // the same domain service behind REST: what gRPC created, HTTP lists
      const rest = (await (await fetch(`http://127.0.0.1:${order.httpPort}/orders`)).json()) as {
        items: { name: string }[]
      }
      expect(rest.items.map((o) => o.name)).toEqual(['second'])
    } finally {
      c.close()
    }
  })

  it('counts calls per method and status code, with a latency histogram, in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${order.httpPort}/metrics`)).text()
    const svc = 'grpc_service="shop.order.v1.OrderService"'
    expect(text).toContain(
      `grpc_server_handled_total{${svc},grpc_method="GetOrder",grpc_code="NOT_FOUND",service="order"} 1`,
    )
    expect(text).toContain(
      `grpc_server_handled_total{${svc},grpc_method="CreateOrder",grpc_code="ALREADY_EXISTS",service="order"} 1`,
    )
    expect(text).toMatch(
      /grpc_server_handling_seconds_bucket\{le="0\.005",service="order",grpc_service="shop\.order\.v1\.OrderService",grpc_method="DeleteOrder",grpc_code="OK"\} 1/,
    )
  })

  it("serves reflection: buf curl finds the service and calls it from the server's own descriptors", async () => {
    const buf = join(REPO, 'node_modules/@bufbuild/buf/bin/buf')
    const url = `http://127.0.0.1:${order.grpcPort}`
    const curl = (args: string[]) =>
      execa(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], {
        reject: false,
        timeout: 20_000,
      })
    const services = await curl(['--list-services', url])
    expect(services.stderr).toBe('')
    expect(services.stdout.split('\n')).toContain('shop.order.v1.OrderService')
    const methods = await curl(['--list-methods', url])
    expect(methods.stdout.split('\n')).toContain('shop.order.v1.OrderService/GetOrder')
    const created = await curl([
      '-d',
      '{"name":"via-reflection"}',
      `${url}/shop.order.v1.OrderService/CreateOrder`,
    ])
    expect(created.exitCode, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({ order: { name: 'via-reflection', version: 1 } })
    const missing = await curl(['-d', '{"id":"nope"}', `${url}/shop.order.v1.OrderService/GetOrder`])
    expect(missing.exitCode).not.toBe(0)
    expect(missing.stderr).toMatch(/not[_ ]found/i)
    const id = JSON.parse(created.stdout).order.id as string
    expect(
      (await curl(['-d', JSON.stringify({ id }), `${url}/shop.order.v1.OrderService/DeleteOrder`])).exitCode,
    ).toBe(0)
  })

  it('takes the request id and trace context from metadata and echoes the request id', async () => {
    const Client = api.order.OrderServiceClient
    const raw = new Client(`127.0.0.1:${order.grpcPort}`, api.credentials.createInsecure())
    try {
      const md = new api.Metadata()
      md.set('x-request-id', 'req-interop-1')
      md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
      const echoed = await new Promise<string | undefined>((resolve, reject) => {
        const call = raw.getOrder({ id: 'nope' }, md, () => undefined)
        call.on('metadata', (m: any) => resolve(m.get('x-request-id')[0]))
        call.on('error', reject)
      })
      expect(echoed).toBe('req-interop-1')
    } finally {
      raw.close()
    }
  })
})

describe('client resilience against a server that fails or stalls on purpose (separate process)', () => {
  let faultPort: number
  let clientsBundle: string
  const startFault = async (env: Record<string, string> = {}) => {
    const port = await freePort()
    const p = execa('node', [join(REPO, 'test/helpers/grpc-fault-server.mjs'), clientsBundle, String(port)], {
      env,
      reject: false,
      cwd: REPO,
    })
    procs.push(p)
    await waitForPort(port)
    return port
  }
  const counts = async (c: any) => JSON.parse((await c.getOrder({ id: 'counts' })).order.name)

  beforeAll(async () => {
    clientsBundle = join(root, 'api.bundle.mjs')
    faultPort = await startFault()
  }, 30_000)

  it('retries idempotent calls on UNAVAILABLE up to the limit and never retries non-idempotent ones', async () => {
    const c = api.createOrderServiceClient({
      address: `127.0.0.1:${faultPort}`,
      maxAttempts: 3,
      backoff: { baseDelayMs: 5 },
      breaker: { failureThreshold: 100 },
    })
    try {
      const before = await counts(c)
      expect(await codeOf(c.getOrder({ id: 'unavailable' }))).toBe('UNAVAILABLE')
      expect(await codeOf(c.createOrder({ name: 'unavailable' }))).toBe('UNAVAILABLE')
      expect(await codeOf(c.updateOrder({ id: 'x' }))).toBe('UNAVAILABLE')
      expect(await codeOf(c.deleteOrder({ id: 'x' }))).toBe('UNAVAILABLE')
      const after = await counts(c)
      expect(after.getOrder - before.getOrder).toBe(3)
      expect(after.createOrder - before.createOrder).toBe(1)
      expect(after.updateOrder - before.updateOrder).toBe(1)
      expect(after.deleteOrder - before.deleteOrder).toBe(3)
    } finally {
      c.close()
    }
  })

  it('puts a deadline on every attempt (default, then per call) and retries DEADLINE_EXCEEDED only when idempotent', async () => {
    const c = api.createOrderServiceClient({
      address: `127.0.0.1:${faultPort}`,
      deadlineMs: 150,
      maxAttempts: 2,
      backoff: { baseDelayMs: 1 },
      breaker: { failureThreshold: 100 },
    })
    try {
      const before = await counts(c)
      const t0 = performance.now()
      expect(await codeOf(c.getOrder({ id: 'stall-600' }))).toBe('DEADLINE_EXCEEDED')
      const ms = performance.now() - t0
      expect(ms).toBeGreaterThanOrEqual(290)
      expect(ms).toBeLessThan(600)
      expect((await counts(c)).getOrder - before.getOrder).toBe(2)
      expect(await codeOf(c.getOrder({ id: 'stall-300' }, { deadlineMs: 2000 }))).toBe('OK')
    } finally {
      c.close()
    }
  })

  it("opens the breaker of a real caller service, fails fast, and shows its state in the caller's /metrics", async () => {
    const failing = await startFault({ FAULT: 'unavailable' })
    const checkout = await startService(root, 'checkout', { ORDER_GRPC_ADDRESS: `127.0.0.1:${failing}` })
    procs.push(checkout.proc)
    const probe = async () => {
      const r = await fetch(`http://127.0.0.1:${checkout.httpPort}/dependencies/order/grpc`)
      return { status: r.status, body: (await r.json()) as { code: string; breaker: string } }
    }
    const gauge = async () =>
      /circuit_breaker_state\{target="order-grpc",service="checkout"\} (\d)/.exec(
        await (await fetch(`http://127.0.0.1:${checkout.httpPort}/metrics`)).text(),
      )?.[1]
    expect(await gauge()).toBe('0')
    // default breaker: 5 consecutive failures; each probe is an idempotent call of up to 3 attempts
    const first = await probe()
    expect(first).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE', breaker: 'closed' } })
    const second = await probe()
    expect(second.body.breaker).toBe('open')
    expect(await gauge()).toBe('1')
    const probeClient = api.createOrderServiceClient({ address: `127.0.0.1:${failing}`, maxAttempts: 1 })
    try {
      const seen = (await counts(probeClient)).listOrders
      expect(seen).toBe(5)
      const third = await probe()
      expect(third.body).toMatchObject({ code: 'UNAVAILABLE', breaker: 'open' })
      expect((await counts(probeClient)).listOrders).toBe(seen)
    } finally {
      probeClient.close()
    }
  })
})

// Python's grpcio from Debian (python3-grpcio, stubs from protobuf-compiler-grpc's plugin): an
// implementation that shares no code with ours. .ci/run installs it; elsewhere the test needs it.
const PYTHON = '/usr/bin/python3'
const hasPythonGrpc = execa(PYTHON, ['-c', 'import grpc, google.protobuf'], { reject: false }).then(
  (r) => r.exitCode === 0,
)

describe.skipIf(!process.env.CI && !(await hasPythonGrpc))('interop with Python grpcio', () => {
  it('gets the same answers as the generated client, and sees SERVING then NOT_SERVING on shutdown', async () => {
    const stubs = join(tmp, 'pystubs')
    await execa('mkdir', ['-p', stubs])
    // Debian's protoc, matching Debian's python3-protobuf (npm's newer protoc emits stubs it cannot load)
    await execa('/usr/bin/protoc', [
      '-I',
      join(root, 'services/order/proto'),
      '-I',
      join(REPO, 'test/interop/proto'),
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      '--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin',
      'order.proto',
      'health/v1/health.proto',
    ])
    const server = await startService(root, 'order')
    procs.push(server.proc)
    const py = execa(
      PYTHON,
      [join(REPO, 'test/interop/order_client.py'), stubs, `127.0.0.1:${server.grpcPort}`, 'py-'],
      {
        reject: false,
        timeout: 30_000,
      },
    )
    const lines: Record<string, unknown>[] = []
    let buffered = ''
    py.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>
        buffered = buffered.slice(nl + 1)
        lines.push(line)
        // the service stops being ready when told to shut down: a watcher must see it
        if (line.watch === 'SERVING') server.proc.kill('SIGTERM')
      }
    })
    const done = await py
    expect(done.stderr).toBe('')
    expect(done.exitCode).toBe(0)
    const { answers } = lines[0] as { answers: unknown[][] }

    // the same sequence through the generated TypeScript client, on another server process
    const c = api.createOrderServiceClient({ address: `127.0.0.1:${order.grpcPort}`, maxAttempts: 1 })
    const view = (o: any) => ({
      name: o.name.replace(/^node-/, 'py-'),
      description: o.description,
      status: o.status,
      version: o.version,
    })
    try {
      const created = (await c.createOrder({ name: 'node-a', description: 'd' })).order
      const ours = [
        ['create', 'OK', view(created)],
        ['create-dup', await codeOf(c.createOrder({ name: 'node-a' }))],
        ['create-empty', await codeOf(c.createOrder({ name: '' }))],
        ['get', 'OK', view((await c.getOrder({ id: created.id })).order)],
        ['get-missing', await codeOf(c.getOrder({ id: 'missing' }))],
        ['list-too-big', await codeOf(c.listOrders({ pageSize: 1000 }))],
        ['update', 'OK', view((await c.updateOrder({ id: created.id, description: 'e', version: 1 })).order)],
        ['update-stale', await codeOf(c.updateOrder({ id: created.id, name: 'z', version: 1 }))],
        ['delete', await codeOf(c.deleteOrder({ id: created.id }))],
        ['delete-again', await codeOf(c.deleteOrder({ id: created.id }))],
      ]
      expect(answers).toEqual(ours)
    } finally {
      c.close()
    }
    expect(lines[1]).toEqual({
      checks: {
        '(server)': 'SERVING',
        'shop.order.v1.OrderService': 'SERVING',
        'no.such.Service': 'NOT_FOUND',
      },
    })
    expect(lines.at(-1)).toEqual({ watched: ['SERVING', 'NOT_SERVING'] })
    // SIGTERM drained and exited 0
    expect((await server.proc).exitCode).toBe(0)
  })
})
