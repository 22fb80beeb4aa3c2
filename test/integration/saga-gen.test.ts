// Issue #17: sagas generated into the services. The shop of test/fixtures/sagas (order owns
// place-order; inventory over gRPC, payment over HTTP, confirm in process) is generated, built and
// passes its own tests: the owner's saga test (stand-in callees: completed, and compensated when
// the charge is refused), each operation applied once per idempotency key (PGlite), and the
// schema with the saga and idempotency tables.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { msvc } from '../helpers/cli.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { freePort, waitForHttp } from '../helpers/net.js'
import { generateSagaShop, runIn } from '../helpers/saga-workspace.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const hasDocker = await dockerAvailable()

describe('sagas generated into the services (a workspace built and tested)', () => {
  let parent: string
  let ws: string

  beforeAll(async () => {
    parent = await makeTempDir('msvc-saga-gen-')
    ws = await generateSagaShop(parent)
  }, 600_000)

  afterAll(async () => {
    if (parent) await rm(parent, { recursive: true, force: true })
  })

  it('writes the saga into its owner, the tables into the schemas, and stays in step', async () => {
    const sagas = await readFile(join(ws, 'services/order/src/sagas.ts'), 'utf8')
    expect(sagas).toMatch(/defineSaga<Order>\(\{\n {4}name: 'place-order'/)
    expect(sagas).toContain('deps.grpc.inventory.reserveInventory(request, options)')
    expect(sagas).toContain("post(deps.http.payment!, '/payments/charge', body, ctx, 3000)")
    const orderSchema = await readFile(join(ws, 'services/order/src/db/schema.ts'), 'utf8')
    expect(orderSchema).toMatch(/pgTable\(\n {2}'sagas'/)
    const paymentSchema = await readFile(join(ws, 'services/payment/src/db/schema.ts'), 'utf8')
    expect(paymentSchema).toMatch(/pgTable\(\n {2}'idempotency_keys'/)
    expect(paymentSchema).not.toMatch(/'sagas'/)
    expect((await msvc(['sync', '--check'], { cwd: ws })).exitCode).toBe(0)
  })

  it('typechecks, lints and is formatted', async () => {
    await runIn(ws, 'npm', ['run', 'typecheck'])
    await runIn(ws, 'npm', ['run', 'lint'])
    await runIn(ws, 'npm', ['run', 'format:check'])
  }, 600_000)

  it.each(['order', 'inventory', 'payment'])(
    'passes the tests of %s (PGlite, no Docker)',
    async (service) => {
      const out = await runIn(join(ws, 'services', service), 'npx', ['vitest', 'run'], {
        DOCKER_HOST: 'unix:///nonexistent.sock',
      })
      if (service === 'order') expect(out).toMatch(/sagas\.test\.ts/)
      expect(out).toMatch(/http\.test\.ts/)
    },
    600_000,
  )

  // the three services, bundled as their images run them, against PostgreSQL 15 in Docker
  it.skipIf(!hasDocker)(
    'on PostgreSQL: places an order (201, completed), charges once per key, and compensates a declined charge',
    async () => {
      for (const s of ['order', 'inventory', 'payment'])
        await runIn(join(ws, 'services', s), 'npm', ['run', 'bundle'])
      const container = `msvc-saga-gen-${process.pid}`
      const pgPort = await freePort()
      const procs: ResultPromise[] = []
      try {
        await docker([
          'run',
          '-d',
          '--name',
          container,
          '--label',
          'msvc.test=saga-gen',
          '-e',
          'POSTGRES_PASSWORD=pw',
          '-p',
          `127.0.0.1:${pgPort}:5432`,
          'postgres:15',
        ])
        const deadline = Date.now() + 30_000
        for (const db of ['orders', 'inventory', 'payment'])
          for (;;) {
            const r = await execa(
              'docker',
              ['exec', container, 'psql', '-U', 'postgres', '-c', `create database ${db}`],
              { reject: false },
            )
            if (r.exitCode === 0) break
            if (Date.now() > deadline) throw new Error(`postgres: ${r.stderr}`)
            await new Promise((r) => setTimeout(r, 300))
          }
        const [order, inventory, payment, orderGrpc, inventoryGrpc] = await Promise.all([
          freePort(),
          freePort(),
          freePort(),
          freePort(),
          freePort(),
        ])
        const url = (db: string) => `postgres://postgres:pw@127.0.0.1:${pgPort}/${db}`
        const start = (service: string, env: Record<string, string>) => {
          const p = execa('node', ['dist/main.js'], {
            cwd: join(ws, 'services', service),
            env: { HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
            reject: false,
          })
          procs.push(p)
        }
        start('inventory', {
          DATABASE_URL: url('inventory'),
          PORT: String(inventory),
          GRPC_PORT: String(inventoryGrpc),
        })
        start('payment', { DATABASE_URL: url('payment'), PORT: String(payment) })
        start('order', {
          DATABASE_URL: url('orders'),
          PORT: String(order),
          GRPC_PORT: String(orderGrpc),
          INVENTORY_URL: `http://127.0.0.1:${inventory}`,
          INVENTORY_GRPC_ADDRESS: `127.0.0.1:${inventoryGrpc}`,
          PAYMENT_URL: `http://127.0.0.1:${payment}`,
        })
        for (const port of [inventory, payment, order])
          await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 30_000)
        const post = (port: number, path: string, body: unknown, headers: Record<string, string> = {}) =>
          fetch(`http://127.0.0.1:${port}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
          })
        const get = async <T>(port: number, path: string) =>
          (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as T

        const item = (await (await post(inventory, '/inventories', { sku: 'A-1', stock: 5 })).json()) as {
          id: string
        }
        const placed = await post(order, '/orders', {
          productId: item.id,
          sku: 'A-1',
          quantity: 2,
          total: 50,
        })
        expect(placed.status).toBe(201)
        const confirmed = (await placed.json()) as { id: string; status: string }
        expect(confirmed.status).toBe('confirmed')
        expect(await get(inventory, `/inventories/${item.id}`)).toMatchObject({ reserved: 2 })
        const sagas = await get<{ items: { state: string; input: { id: string } }[] }>(
          order,
          '/sagas?state=completed',
        )
        expect(sagas.items.map((s) => s.input.id)).toEqual([confirmed.id])

        // a charge retried with the same key charges once, and answers the first answer
        const key = { 'idempotency-key': 'retried-charge' }
        const first = await (
          await post(payment, '/payments/charge', { orderId: 'o-key', amount: 7 }, key)
        ).json()
        const again = await (
          await post(payment, '/payments/charge', { orderId: 'o-key', amount: 7 }, key)
        ).json()
        expect(again).toEqual(first)
        const payments = await get<{ items: { orderId: string }[] }>(payment, '/payments?limit=100')
        expect(payments.items.filter((p) => p.orderId === 'o-key')).toHaveLength(1)

        // a declined charge (over the card limit): 409, compensated, the stock released
        const declined = await post(order, '/orders', {
          productId: item.id,
          sku: 'A-1',
          quantity: 1,
          total: 5000,
        })
        expect(declined.status).toBe(409)
        const body = (await declined.json()) as { sagaId: string; failedStep: string }
        expect(body.failedStep).toBe('charge')
        const saga = await get<{ state: string; timeline: { step: string; phase: string }[] }>(
          order,
          `/sagas/${body.sagaId}`,
        )
        expect(saga.state).toBe('compensated')
        expect(saga.timeline.filter((a) => a.phase === 'compensate').map((a) => a.step)).toEqual([
          'reserve-stock',
        ])
        expect(await get(inventory, `/inventories/${item.id}`)).toMatchObject({ reserved: 2 })

        // payment started again deletes the keys older than a week, and keeps the others
        const psql = (sql: string) =>
          execa('docker', ['exec', container, 'psql', '-U', 'postgres', '-d', 'payment', '-tAc', sql])
        await psql(
          "insert into idempotency_keys (key, operation, created_at) values ('week-old', 'payment.charge', now() - interval '8 days')",
        )
        const paymentProc = procs[1]!
        paymentProc.kill('SIGTERM')
        await paymentProc
        start('payment', { DATABASE_URL: url('payment'), PORT: String(payment) })
        await waitForHttp(`http://127.0.0.1:${payment}/health/ready`, 30_000)
        const keys = async () =>
          (
            await psql(
              "select key from idempotency_keys where key in ('week-old', 'retried-charge') order by key",
            )
          ).stdout
        const until = Date.now() + 10_000
        while ((await keys()).includes('week-old') && Date.now() < until)
          await new Promise((r) => setTimeout(r, 200))
        expect((await keys()).split('\n')).toEqual(['retried-charge'])
      } finally {
        for (const p of procs) p.kill('SIGTERM')
        await Promise.all(procs)
        await docker(['rm', '-f', container]).catch(() => undefined)
      }
    },
    600_000,
  )
})
