import { rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { readLedger } from '../../src/io/chaos/ledger-store.js'
import { FakeEngine, FakeRuntime, runMsvc, trapFiringAfter } from '../helpers/fake-edges.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue #14 §1: the stack and chaos commands run in process with fake edges (no Docker): their
// exit codes, output and what they write. The same commands run against a real engine in
// test/e2e/stack.test.ts and test/integration/chaos-*.test.ts.

const YAML = `name: shop
services:
  order:
    capabilities: [http]
    ports: { http: 3001 }
  payment:
    capabilities: [http]
    ports: { http: 3002 }
`

let root: string
beforeEach(async () => {
  root = await makeTempDir('msvc-inproc-')
  await writeFile(join(root, 'msvc.yaml'), YAML)
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('stack commands with a fake runtime', () => {
  let runtime: FakeRuntime
  beforeEach(() => {
    runtime = new FakeRuntime()
  })
  const run = (...argv: string[]) => runMsvc(argv, root, { runtime: async () => runtime })

  it('up builds, starts and waits for every service, then prints their URLs', async () => {
    const r = await run('up')
    expect(r.code, r.stderr).toBe(0)
    expect(runtime.calls).toEqual(['build order,payment', 'up (all)', 'wait order,payment 90000ms'])
    expect(r.stdout).toMatch(
      /^order\s+http:\/\/127\.0\.0\.1:3001\s+-\s+http:\/\/127\.0\.0\.1:3001\/metrics$/m,
    )
    expect(r.stdout).toMatch(/^payment\s+http:\/\/127\.0\.0\.1:3002\s/m)
    expect(r.stderr).toMatch(/healthy in \d+\.\d s \(build 0\.0 s, image 0\.0 s, start/)
  })

  it('up <service> --json --timeout 5 starts only it and prints what it did as JSON', async () => {
    const r = await run('up', 'payment', '--json', '--timeout', '5')
    expect(r.code, r.stderr).toBe(0)
    expect(runtime.calls).toEqual(['build payment', 'up payment', 'wait payment 5000ms'])
    expect(JSON.parse(r.stdout)).toMatchObject({
      workspace: 'shop',
      services: [{ service: 'payment', http: 'http://127.0.0.1:3002' }],
      built: ['payment'],
      composed: true,
    })
  })

  it('up exits 1 naming the service that is not healthy', async () => {
    runtime.unhealthy = 'payment'
    const r = await run('up')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/✖ payment is not healthy: health check failing\n {2}hint: msvc logs payment/)
  })

  it.each([
    [['up', 'shipping'], /✖ unknown service "shipping"/],
    [['up', '--timeout', 'soon'], /✖ --timeout "soon" is not a duration/],
    [['restart', 'shipping'], /✖ unknown service "shipping"/],
    [['logs', '--tail', 'many'], /✖ --tail "many" is not a number of lines/],
  ])('%j exits 1 with one line, before the runtime does anything', async (argv, message) => {
    const r = await run(...argv)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(message)
    expect(runtime.calls).toEqual([])
  })

  it('down --volumes removes the containers and volumes and says so', async () => {
    const r = await run('down', '--volumes')
    expect(r.code, r.stderr).toBe(0)
    expect(runtime.calls).toEqual(['down --volumes'])
    expect(r.stderr).toContain('removed 2 container(s) and 1 volume(s) (shop_data)')
  })

  it('ps prints a table, --json the rows, and says when nothing runs', async () => {
    expect((await run('ps')).stderr).toContain('no containers of shop; start them with msvc up')
    runtime.containers = [
      {
        service: 'order',
        id: 'abc',
        name: 'shop-order-1',
        state: 'running',
        health: 'healthy',
        restarts: 2,
        ports: ['127.0.0.1:3001->3001/tcp'],
        uptimeSeconds: 3725,
      },
    ]
    const table = await run('ps')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(
      /^order\s+shop-order-1\s+running\s+healthy\s+2\s+127\.0\.0\.1:3001->3001\/tcp\s+1h2m$/m,
    )
    expect(JSON.parse((await run('ps', '--json')).stdout)).toEqual(runtime.containers)
  })

  it('restart restarts the service, then waits until it is healthy', async () => {
    const r = await run('restart', 'payment', '--timeout', '20s')
    expect(r.code, r.stderr).toBe(0)
    expect(runtime.calls).toEqual(['restart payment', 'wait payment 20000ms'])
  })

  it('logs prefixes each line with its service; a followed stream ends at Ctrl-C with exit 0', async () => {
    runtime.logLines = [
      ['order', 'listening on 3001'],
      ['nats', 'Server is ready'],
    ]
    const r = await runMsvc(['logs', '--follow', '--tail', '5'], root, {
      runtime: async () => runtime,
      trapSignals: trapFiringAfter(100),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(runtime.calls).toEqual(['logs (all) follow tail 5'])
    expect(r.stdout).toBe('order   | listening on 3001\nnats    | Server is ready\n')
  })
})

describe('chaos with a fake engine', () => {
  let engine: FakeEngine
  let ready: Server
  let readyPort: number
  beforeAll(async () => {
    // what the recovery watch asks: /health/ready on the published port, over a real socket
    ready = createServer((_req, res) => res.end('{"ready":true}'))
    await new Promise<void>((r) => ready.listen(0, '127.0.0.1', r))
    readyPort = (ready.address() as AddressInfo).port
  })
  afterAll(() => new Promise((r) => ready.close(r)))
  beforeEach(() => {
    engine = new FakeEngine()
    engine.add('shop', 'order', { httpPort: 3001, hostPort: readyPort })
    engine.add('shop', 'payment', { httpPort: 3002, hostPort: readyPort })
  })
  const run = (argv: string[], trapAfterMs?: number) =>
    runMsvc(argv, root, { engine: async () => engine, trapSignals: trapFiringAfter(trapAfterMs) })
  const ledger = async () => (await readLedger(root)).faults

  it('pause --for holds the fault, undoes it, measures recovery and leaves an empty ledger', async () => {
    const r = await run(['chaos', 'pause', 'payment', '--for', '300ms', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(engine.calls).toEqual(['pause shop-payment-1', 'unpause shop-payment-1'])
    expect(r.stderr).toMatch(/✔ pause on payment \(shop-payment-1\); undone in 300ms/)
    expect(r.stderr).toMatch(/✔ restored pause on payment after 3\d\dms/)
    expect(r.stderr).toMatch(/✔ payment recovered in/)
    const report = JSON.parse(r.stdout) as { kind: string; recovery: { recovered: boolean } }
    expect(report).toMatchObject({ kind: 'pause', service: 'payment', recovery: { recovered: true } })
    expect(await ledger()).toEqual([])
  })

  it('Ctrl-C during the hold undoes the fault at once and exits 130', async () => {
    const t0 = Date.now()
    const r = await run(['chaos', 'stop', 'payment', '--for', '30s'], 150)
    expect(r.code).toBe(130)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(engine.calls).toEqual(['stop shop-payment-1', 'start shop-payment-1'])
    expect(r.stderr).toContain('! cancelled (SIGINT); restored stop on payment')
    expect(await ledger()).toEqual([])
  })

  it('a fault without --for stays in the ledger until chaos restore undoes it', async () => {
    const r = await run(['chaos', 'pause', 'order'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('stays until msvc chaos restore')
    expect(await ledger()).toHaveLength(1)
    const status = await run(['chaos', 'status', '--json'])
    expect(JSON.parse(status.stdout)).toMatchObject({ faults: [{ service: 'order', kind: 'pause' }] })
    const restore = await run(['chaos', 'restore'])
    expect(restore.code, restore.stderr).toBe(0)
    expect(engine.calls).toEqual(['pause shop-order-1', 'unpause shop-order-1'])
    expect(await ledger()).toEqual([])
  })

  it('refuses a fault on a service with no running container, applying nothing', async () => {
    engine.containers.get([...engine.containers.keys()][1]!)!.running = false
    const r = await run(['chaos', 'pause', 'payment', '--for', '1s'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/✖ payment has no running container\n {2}hint: start it with msvc up payment/)
    expect(engine.calls).toEqual([])
    expect(await ledger()).toEqual([])
  })
})

describe('loadtest with a fake engine, against a real local server', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(req.url?.startsWith('/health') ? '{"ready":true}' : '{"items":[]}')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise((r) => server.close(r)))

  it('applies a --chaos fault during the run, undoes it, and reports its window; a broken threshold exits 2', async () => {
    await writeFile(
      join(root, 'msvc.yaml'),
      YAML.replace('ports: { http: 3002 }', `ports: { http: ${port} }`),
    )
    const engine = new FakeEngine()
    engine.add('shop', 'payment', { httpPort: port })
    const edges = { engine: async () => engine, trapSignals: trapFiringAfter() }
    const r = await runMsvc(
      ['loadtest', 'payment', '-r', '100', '-d', '1s', '--chaos', 'pause payment@200ms for 300ms', '--json'],
      root,
      edges,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(engine.calls).toEqual(['pause shop-payment-1', 'unpause shop-payment-1'])
    const report = JSON.parse(r.stdout) as {
      requests: number
      chaos: { label: string; startMs: number; endMs: number; recoveredMs?: number; recovered?: false }[]
    }
    expect(report.requests).toBe(100)
    expect(report.chaos).toEqual([
      expect.objectContaining({
        label: 'pause payment',
        startMs: expect.any(Number),
        endMs: expect.any(Number),
      }),
    ])
    const w = report.chaos[0]!
    // its recovery was watched (the fake engine's container has no address to probe: the run ends
    // first, and the verdict says so; a real one is in loadtest-chaos.test.ts)
    expect(w.recoveredMs !== undefined || w.recovered === false).toBe(true)
    expect(w.startMs).toBeGreaterThanOrEqual(200)
    expect(w.endMs - w.startMs).toBeGreaterThanOrEqual(300)
    expect(await readLedger(root).then((l) => l.faults)).toEqual([])

    const breached = await runMsvc(
      ['loadtest', 'payment', '-r', '50', '-d', '500ms', '--threshold', 'p99<0ms'],
      root,
      edges,
    )
    expect(breached.code, breached.stderr).toBe(2)
  })
})
