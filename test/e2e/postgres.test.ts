// Issue #15, done when: a workspace with inventory (fields, reserve/release, postgres) and order
// (items[], publishes order.created), where inventory's handler reserves stock on order.created.
// Its own tests pass without Docker (PGlite); on Docker: create an item, place an order, see the
// stock reserved; restart the stack and find the data kept; kill the database mid-load and see
// 503s, then recovery, with nothing lost.
import { randomBytes } from 'node:crypto'
import { execa } from 'execa'
import { readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mkdtemp } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LoadReport } from '../../src/core/loadtest/report.js'
import { NATS_PORTS } from '../../src/core/compose/build-stack.js'
import { connectBroker, readSubject } from '../../src/io/events.js'
import { createService, msvc } from '../helpers/cli.js'
import { dockerAvailable } from '../helpers/docker.js'

const hasDocker = await dockerAvailable()
const INVENTORY = 'http://127.0.0.1:3101'
const ORDER = 'http://127.0.0.1:3102'
/** the stack's broker, on its loopback port */
const NATS = `nats://127.0.0.1:${NATS_PORTS.client}`

interface Item {
  id: string
  sku: string
  quantity: number
  reserved: number
  version: number
}

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

async function allItems(): Promise<Item[]> {
  const out: Item[] = []
  let cursor: string | undefined
  do {
    const page = (await (
      await fetch(`${INVENTORY}/inventories?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
    ).json()) as { items: Item[]; next?: string }
    out.push(...page.items)
    cursor = page.next
  } while (cursor)
  return out
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms
  let last: T | undefined
  while (Date.now() < deadline) {
    last = await read().catch(() => undefined as T)
    if (last !== undefined && ok(last)) return last
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`)
}

describe.skipIf(!hasDocker)('a shop on PostgreSQL: inventory reserves stock on order.created', () => {
  let parent: string
  let ws: string
  let workspaceName: string
  const run = async (cmd: string, args: string[]) => {
    const r = await execa(cmd, args, { cwd: ws, reject: false, all: true, env: { CI: '1', NO_COLOR: '1' } })
    if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.exitCode}):\n${r.all}`)
    return r.all
  }
  const edit = async (file: string, from: RegExp | string, to: string) => {
    const path = join(ws, file)
    const text = await readFile(path, 'utf8')
    const next = text.replace(from, to)
    expect(next, `${file}: ${String(from)}`).not.toBe(text)
    await writeFile(path, next)
  }

  beforeAll(async () => {
    parent = await realpath(await mkdtemp(join(tmpdir(), 'msvc-e2e-pg-')))
    const name = `pgshop-${randomBytes(3).toString('hex')}`
    workspaceName = name
    const created = await createService(
      [
        'pgshop',
        '--name',
        name,
        '--yes',
        '--service',
        'inventory',
        '--http',
        '--grpc',
        '--events',
        '--subscribes',
        'order.created',
        '--publishes',
        'inventory.reserved',
        '--port',
        '3101',
        '--grpc-port',
        '50151',
        '--fields',
        'sku:string!,quantity:integer!,reserved:integer=0',
        '--operations',
        'reserve(sku:string!,quantity:integer!),release(sku:string!,quantity:integer!)',
      ],
      { cwd: parent },
    )
    expect(created.exitCode, created.stderr).toBe(0)
    ws = join(parent, 'pgshop')
    // the event the order carries, declared in the catalog before order is added
    await edit(
      'msvc.yaml',
      /order\.created:\n( +)schema: \{ id: string \}/,
      "order.created:\n$1schema: { orderId: string, items: '{sku:string,quantity:integer}[]' }",
    )
    await edit(
      'msvc.yaml',
      /inventory\.reserved:\n( +)schema: \{ id: string \}/,
      'inventory.reserved:\n$1schema: { inventoryId: string, quantity: integer }',
    )
    const added = await msvc(
      [
        'add',
        'order',
        '--http',
        '--events',
        '--publishes',
        'order.created',
        '--port',
        '3102',
        '--fields',
        'items:{sku:string!,quantity:integer!}[]!',
      ],
      { cwd: ws },
    )
    expect(added.exitCode, added.stderr).toBe(0)
    // inventory's generated files follow the new schema of order.created
    const synced = await msvc(['sync'], { cwd: ws })
    expect(synced.exitCode, synced.stderr).toBe(0)
    // what the user writes: the rules of reserve, the handler, and their own test
    await edit(
      'services/inventory/src/domain/inventory.ts',
      /async reserve\(id: string, _input: ReserveInventoryInput\): Promise<Inventory> \{[^}]*\}/,
      `async reserve(id: string, input: ReserveInventoryInput): Promise<Inventory> {
    const item = await this.get(id)
    const free = item.quantity - item.reserved
    if (free < input.quantity) throw new ConflictError(\`only \${free} of \${item.sku} left\`)
    // the event commits with the change (the outbox), or neither does
    return this.change(item, { reserved: item.reserved + input.quantity }, [
      storedEvent('inventory.reserved', { inventoryId: item.id, quantity: input.quantity }),
    ])
  }`,
    )
    await edit(
      'services/inventory/src/domain/inventory.ts',
      /^/,
      "import { ConflictError } from '@" +
        name +
        "/kit'\nimport { storedEvent } from '@" +
        name +
        "/kit/db'\n",
    )
    await edit(
      'services/inventory/src/events/handlers.ts',
      /ctx\.logger\.info\(\{ eventId: event\.id, type: event\.type, data \}, 'order\.created handled'\)/,
      `for (const line of data.items) {
    const { items } = await ctx.inventoryService.list({ limit: 100 })
    const item = items.find((i) => i.sku === line.sku)
    if (item) await ctx.inventoryService.reserve(item.id, line)
  }
  ctx.logger.info({ eventId: event.id }, 'order.created handled')`,
    )
    await edit(
      'services/inventory/test/domain.test.ts',
      /it\('reserve: [\s\S]*?\n {2}\}\)\n/,
      `it('reserve: takes what is free, and refuses more', async () => {
    const service = make()
    const created = await service.create({ ...one, quantity: 5, reserved: 0 })
    expect(await service.reserve(created.id, { ...reserveInput, quantity: 3 })).toMatchObject({ reserved: 3, version: 2 })
    await expect(service.reserve(created.id, { sku: created.sku, quantity: 3 })).rejects.toMatchObject({ name: 'ConflictError' })
  })
`,
    )
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])
    await run('npx', ['prettier', '--write', 'services'])
  }, 600_000)

  afterAll(async () => {
    if (ws) await msvc(['down', '--volumes'], { cwd: ws })
    if (parent) await rm(parent, { recursive: true, force: true })
  })

  it('builds, lints and passes its own tests without Docker (PGlite), in step with msvc.yaml', async () => {
    await run('npm', ['run', 'build'])
    await run('npm', ['run', 'lint'])
    await run('npm', ['run', 'format:check'])
    // no Docker for the workspace's tests: DOCKER_HOST points nowhere
    const tests = await execa('npm', ['test'], {
      cwd: ws,
      reject: false,
      all: true,
      env: { CI: '1', DOCKER_HOST: 'unix:///nonexistent.sock' },
    })
    expect(tests.exitCode, tests.all).toBe(0)
    expect(tests.all).toMatch(/domain\.test\.ts/)
    expect((await msvc(['sync', '--check'], { cwd: ws })).exitCode).toBe(0)
  })

  it('reserves stock when an order is placed, through the outbox and JetStream', async () => {
    const up = await msvc(['up'], { cwd: ws })
    expect(up.exitCode, up.stderr).toBe(0)
    const created = await fetch(`${INVENTORY}/inventories`, json({ sku: 'A-1', quantity: 10 }))
    expect(created.status).toBe(201)
    const item = (await created.json()) as Item
    expect(item).toMatchObject({ sku: 'A-1', quantity: 10, reserved: 0, version: 1 })
    // an integer its schema allows and its bigint column cannot hold: the client's fault, a 400
    const huge = await fetch(`${INVENTORY}/inventories`, json({ sku: 'B-1', quantity: 1e20 }))
    expect(huge.status).toBe(400)
    expect(((await huge.json()) as { message: string }).message).toMatch(/out of range for type bigint/)
    const order = await fetch(`${ORDER}/orders`, json({ items: [{ sku: 'A-1', quantity: 3 }] }))
    expect(order.status).toBe(201)
    const reserved = await until(
      'stock reserved',
      async () => (await (await fetch(`${INVENTORY}/inventories/${item.id}`)).json()) as Item,
      (i) => i.reserved === 3,
    )
    expect(reserved.version).toBe(2)
    // the operation's route runs the same rule: 409 for more than is free
    const tooMuch = await fetch(
      `${INVENTORY}/inventories/${item.id}/reserve`,
      json({ sku: 'A-1', quantity: 8 }),
    )
    expect(tooMuch.status).toBe(409)
    const fits = await fetch(`${INVENTORY}/inventories/${item.id}/reserve`, json({ sku: 'A-1', quantity: 7 }))
    expect(await fits.json()).toMatchObject({ reserved: 10, version: 3 })
    // each reserve's inventory.reserved, from the outbox to JetStream, once; none for the refused one
    const broker = await connectBroker(NATS)
    try {
      const published = await until(
        'inventory.reserved published',
        async () =>
          (
            await readSubject(
              broker,
              `${workspaceName}-events`,
              `${workspaceName}.events.inventory.reserved`,
              100,
            )
          ).map((m) => (JSON.parse(m.data) as { data: { inventoryId: string; quantity: number } }).data),
        (events) => events.length >= 2,
      )
      expect(published.sort((a, b) => a.quantity - b.quantity)).toEqual([
        { inventoryId: item.id, quantity: 3 },
        { inventoryId: item.id, quantity: 7 },
      ])
    } finally {
      await broker.close()
    }
    const migrate = await msvc(['db', 'migrate', '--json'], { cwd: ws })
    expect(migrate.exitCode, migrate.stderr).toBe(0)
    expect(JSON.parse(migrate.stdout)).toEqual({
      migrated: [
        { service: 'inventory', applied: 0 },
        { service: 'order', applied: 0 },
      ],
    })
  })

  it('is not ready while its database is stopped, and serves again once it is back', async () => {
    const stop = msvc(['chaos', 'stop', 'inventory-db', '--for', '3s'], { cwd: ws })
    const down = await until(
      'not ready',
      async () => {
        const r = await fetch(`${INVENTORY}/health/ready`)
        return { status: r.status, body: (await r.json()) as { checks: { name: string; ok: boolean }[] } }
      },
      (r) => r.status === 503,
    )
    expect(down.body.checks).toContainEqual(expect.objectContaining({ name: 'database', ok: false }))
    expect((await fetch(`${INVENTORY}/inventories`)).status).toBe(503)
    const stopped = await stop
    expect(stopped.exitCode, stopped.stderr).toBe(0)
    expect(stopped.stderr).toMatch(/inventory-db recovered in/)
    await until(
      'ready',
      async () => (await fetch(`${INVENTORY}/health/ready`)).status,
      (s) => s === 200,
    )
    // a kill of the database, through msvc chaos, is measured until its health check passes
    const killed = await msvc(['chaos', 'kill', 'order-db'], { cwd: ws })
    expect(killed.exitCode, killed.stderr).toBe(0)
    expect(killed.stderr).toMatch(/order-db recovered in [\d.]+ s \(Docker healthy/)
  })

  it('keeps the data across msvc down and up', async () => {
    const before = await allItems()
    expect((await msvc(['down'], { cwd: ws })).exitCode).toBe(0)
    const up = await msvc(['up'], { cwd: ws })
    expect(up.exitCode, up.stderr).toBe(0)
    expect(await allItems()).toEqual(before)
    const orders = (await (await fetch(`${ORDER}/orders`)).json()) as { items: unknown[] }
    expect(orders.items).toHaveLength(1)
  })

  // issue #19, done when: a chained scenario runs against a generated service. Each iteration
  // creates an item, reads it, reserves from it and deletes it by the id its create answered with:
  // a wrong or missing id would be a 404, a failed check or a stopped iteration.
  it('runs a flow that chains the created id through get, reserve and delete, in both models', async () => {
    const before = (await allItems()).length
    const scenario = join(parent, 'chain.yaml')
    await writeFile(
      scenario,
      `target: inventory
thresholds: [errors<1%]
flows:
  - name: stock
    steps:
      - name: create
        method: POST
        path: /inventories
        body: { sku: "flow-{{uuid}}", quantity: 5 }
        expect: 201
        capture: { id: $.id, sku: $.sku }
      - name: get
        path: /inventories/{{id}}
        expect: 200
        check: { $.quantity: 5, $.reserved: 0, $.version: 1 }
      - name: reserve
        method: POST
        path: /inventories/{{id}}/reserve
        body: { sku: "{{sku}}", quantity: 2 }
        expect: 2xx
        check: { $.reserved: 2, $.version: 2 }
      - name: delete
        method: DELETE
        path: /inventories/{{id}}
        expect: 2xx
`,
    )
    /** iterations the run's end cut after their create: their items stay */
    let cut = 0
    for (const model of [
      ['--rate', '10', '-d', '3s'],
      ['--connections', '2', '-d', '2s'],
    ]) {
      const r = await msvc(['loadtest', '-f', scenario, ...model, '--json'], { cwd: ws })
      expect(r.exitCode, `${model.join(' ')}: ${r.stderr}`).toBe(0)
      const report = JSON.parse(r.stdout) as LoadReport
      const [flow] = report.flows!
      expect(report.errors, JSON.stringify(report.flows)).toBe(0)
      expect(flow!.iterations).toBeGreaterThan(model[0] === '--rate' ? 29 : 0)
      expect(flow!.stopped).toBe(0)
      // every iteration that ran to the end read, reserved and deleted the item it created
      expect(flow!.completed).toBeGreaterThanOrEqual(flow!.iterations - 2)
      for (const step of flow!.steps.slice(1))
        for (const c of step.checks) expect(c, step.name).toMatchObject({ failed: 0 })
      const rows = Object.fromEntries(report.endpoints.map((e) => [e.name, e.statuses]))
      expect(rows['stock › get']).toEqual({ 200: expect.any(Number) })
      expect(Object.keys(rows['stock › delete']!).every((s) => s.startsWith('2'))).toBe(true)
      expect(report.endpoints.find((e) => e.name === 'stock › delete')!.requests).toBe(flow!.completed)
      cut += flow!.iterations - flow!.completed
    }
    // what the flows created, they deleted (but for the iterations the run's end cut short)
    expect((await allItems()).length).toBe(before + cut)
  })

  it('answers 503 while its database is killed under load, recovers, and loses no acknowledged create', async () => {
    const before = (await allItems()).length
    const r = await msvc(
      ['loadtest', 'inventory', '--rate', '40', '-d', '8s', '--chaos', 'kill inventory-db@2s', '--json'],
      { cwd: ws },
    )
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    const post = report.endpoints.find((e) => e.name === 'POST /inventories')!
    const get = report.endpoints.find((e) => e.name.startsWith('GET'))!
    const statuses = {
      ...get.statuses,
      ...Object.fromEntries(Object.entries(post.statuses).map(([k, v]) => [`post ${k}`, v])),
    }
    // while the database was away: 503s; before and after: answers
    expect(
      Number(get.statuses['503'] ?? 0) + Number(post.statuses['503'] ?? 0),
      JSON.stringify(statuses),
    ).toBeGreaterThan(0)
    expect(Number(get.statuses['200'] ?? 0), JSON.stringify(statuses)).toBeGreaterThan(0)
    const acknowledged = Number(post.statuses['201'] ?? 0)
    expect(acknowledged).toBeGreaterThan(0)
    const ready = await until(
      'ready again',
      async () => (await fetch(`${INVENTORY}/health/ready`)).status,
      (s) => s === 200,
    )
    expect(ready).toBe(200)
    // every create answered 201 is stored (one answered otherwise may have committed just before
    // its connection died: at most as many more as there were such answers)
    const after = (await allItems()).length
    expect(after).toBeGreaterThanOrEqual(before + acknowledged)
    expect(after).toBeLessThanOrEqual(before + post.requests)
    // down --volumes is what removes the data
    expect((await msvc(['down', '--volumes'], { cwd: ws })).exitCode).toBe(0)
    const volumes = await execa('docker', [
      'volume',
      'ls',
      '-q',
      '--filter',
      `label=msvc.workspace=${workspaceName}`,
    ])
    expect(volumes.stdout.trim()).toBe('')
  })
})
