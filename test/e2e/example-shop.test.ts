// Issue #20: the course's shop as a user gets it. msvc's README walks through it in blocks ("The
// course's shop"); this file runs those blocks as they are, in order, in a fresh folder with msvc
// and create-service on the PATH, and between them checks what the course checks by hand: the
// journey of a user through the gateway, and the breaker when payment goes away. One stack for all.
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREATE_BIN, MSVC_BIN, REPO, msvc } from '../helpers/cli.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { runIn } from '../helpers/saga-workspace.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const hasDocker = await dockerAvailable()
const GATEWAY = 'http://127.0.0.1:8080'

/** The sh blocks of README.md's section on the shop, comment lines dropped, in order. */
async function walkthrough(): Promise<string[]> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8')
  const start = readme.indexOf("## The course's shop")
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
      .join('\n'),
  )
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `fn` every 250 ms until it returns a value, for up to `ms`; the last error fails the test. */
async function eventually<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms${last ? ` (${String(last)})` : ''}`)
    await sleep(250)
  }
}

interface Answer {
  status: number
  body: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const r = await fetch(`${GATEWAY}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : undefined }
}

/** The addresses of a service's replicas on the stack's network (none of them publishes a port). */
async function replicas(service: string): Promise<string[]> {
  const ids = (
    await docker([
      'ps',
      '-q',
      '--filter',
      'label=msvc.workspace=shop',
      '--filter',
      `label=msvc.service=${service}`,
    ])
  )
    .split('\n')
    .filter(Boolean)
  const ips = await Promise.all(
    ids.map(async (id) =>
      (
        await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id])
      ).trim(),
    ),
  )
  return ips.filter(Boolean)
}

/** order's gauge circuit_breaker_state{target="payment"} on each replica: 0 closed, 1 open, 2 half-open. */
async function orderBreakers(): Promise<number[]> {
  const out: number[] = []
  for (const ip of await replicas('order')) {
    const text = await (
      await fetch(`http://${ip}:3004/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text()
    const m = /^circuit_breaker_state\{[^}]*target="payment"[^}]*\} (\d)/m.exec(text)
    out.push(m ? Number(m[1]) : -1)
  }
  return out
}

describe.skipIf(!hasDocker)(
  "the course's shop (issue #20): README's walkthrough, the journey, the breaker",
  () => {
    let parent = ''
    let shop = ''
    let blocks: string[] = []
    let env: Record<string, string> = {}
    const sh = (script: string, cwd: string) =>
      execa('bash', ['-euo', 'pipefail', '-c', script], {
        cwd,
        env,
        reject: false,
        all: true,
        stdin: 'ignore',
      })
    const admin = async () =>
      (await msvc(['token', '--sub', 'staff', '--roles', 'admin'], { cwd: shop })).stdout.trim()
    const order = (
      token: string,
      userId: string,
      product: { id: string; sku: string; price: number },
      quantity = 1,
    ) =>
      call('POST', '/api/orders', token, {
        userId,
        items: [{ productId: product.id, sku: product.sku, quantity, price: product.price }],
        units: quantity,
        total: product.price * quantity,
      })

    beforeAll(async () => {
      // the walkthrough's workspace is always "shop": a database volume left by a killed run would
      // hold its tables already
      const stale = (await docker(['volume', 'ls', '-q', '--filter', 'label=msvc.workspace=shop']))
        .split('\n')
        .filter(Boolean)
      if (stale.length) await docker(['volume', 'rm', '-f', ...stale])
      parent = await makeTempDir('msvc-example-shop-')
      shop = join(parent, 'shop')
      const bin = join(parent, 'bin')
      await mkdir(bin)
      for (const [name, target] of [
        ['msvc', MSVC_BIN],
        ['create-service', CREATE_BIN],
      ] as const) {
        await writeFile(join(bin, name), `#!/bin/sh\nexec node ${target} "$@"\n`)
        await chmod(join(bin, name), 0o755)
      }
      env = {
        ...(process.env as Record<string, string>),
        PATH: [bin, process.env.PATH].join(delimiter),
        CI: '1',
        NO_COLOR: '1',
      }
      blocks = await walkthrough()
      expect(blocks).toHaveLength(7)
    }, 60_000)

    afterAll(async () => {
      if (shop) await msvc(['down', '--volumes'], { cwd: shop })
      if (parent && !process.env.MSVC_E2E_KEEP) await rm(parent, { recursive: true, force: true })
    }, 120_000)

    it('1. creates the shop, installs it and starts it, health-gated', async () => {
      const r = await sh(blocks[0]!, parent)
      expect(r.exitCode, r.all).toBe(0)
      expect(r.all).toMatch(/healthy in [\d.]+ s/)
      expect(r.all).toMatch(/order: 2 replicas; through the gateway: http:\/\/127\.0\.0\.1:8080\/api\/orders/)
    }, 900_000)

    it('2. the dashboard shows the whole graph', async () => {
      const r = await sh(blocks[1]!, shop)
      expect(r.exitCode, r.all).toBe(0)
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(r.all!)![0]
      const graph = (await (await fetch(`${url}/api/graph`)).json()) as {
        nodes: { id: string; replicas: number }[]
        edges: { from: string; to: string; kind: string }[]
      }
      const ids = graph.nodes.map((n) => n.id)
      for (const s of ['gateway', 'user', 'product', 'inventory', 'order', 'payment', 'notification', 'nats'])
        expect(ids).toContain(s)
      const edges = graph.edges.map((e) => `${e.from}-${e.kind}->${e.to}`)
      for (const e of [
        'order-call->inventory',
        'order-call->payment',
        'user-event->notification',
        'gateway-call->order',
      ])
        expect(edges).toContain(e)
    })

    it('stocks the shop through the gateway as its staff', async () => {
      const r = await sh(blocks[2]!, shop)
      expect(r.exitCode, r.all).toBe(0)
      expect(r.all).toMatch(/"sku":"MUG-1","stock":100000/)
    })

    it("the course's journey: register, log in, a product stocked, an order, its payment, the notification, the stock", async () => {
      const staff = await admin()
      // 1. a user registers and logs in through the gateway; the password's hash is never answered
      const email = `ada-${Date.now()}@example.com`
      const registered = await call('POST', '/api/users/register', undefined, {
        email,
        password: 'correct horse',
        name: 'Ada',
      })
      expect(registered.status, JSON.stringify(registered.body)).toBe(200)
      const user = registered.body.items[0]
      expect(user).toMatchObject({ email, name: 'Ada' })
      expect(JSON.stringify(registered.body)).not.toMatch(/passwordHash|scrypt/)
      expect(
        (await call('POST', '/api/users/login', undefined, { email, password: 'wrong horse' })).status,
      ).toBe(401)
      const login = await call('POST', '/api/users/login', undefined, { email, password: 'correct horse' })
      expect(login.status).toBe(200)
      const token = login.body.token as string
      const profile = await call('GET', `/api/users/${user.id}`, token)
      expect([profile.status, profile.body.email, profile.body.passwordHash]).toEqual([200, email, undefined])
      expect((await call('GET', `/api/orders`)).status).toBe(401)
      // 2. a product is created and stocked (staff only: a customer's token is refused there)
      const sku = `BOOK-${Date.now()}`
      const product = await call('POST', '/api/products', staff, {
        sku,
        name: 'A book',
        price: 7.25,
        category: 'books',
      })
      expect(product.status).toBe(201)
      const stock = { sku, stock: 10 }
      expect((await call('POST', '/api/inventories', token, stock)).status).toBe(403)
      expect((await call('POST', '/api/inventories', staff, stock)).status).toBe(201)
      // 3. an order of 2: the saga reserves, charges and confirms within its wait
      const placed = await order(token, user.id, product.body, 2)
      expect(placed.status, JSON.stringify(placed.body)).toBe(201)
      expect(placed.body).toMatchObject({ status: 'confirmed', units: 2, total: 14.5 })
      // 4. its payment
      const payments = await call('GET', `/api/payments?orderId=${placed.body.id}`, token)
      expect(payments.body.items).toMatchObject([{ amount: 14.5, state: 'captured', userId: user.id }])
      // 5. the notifications sent to the user (the events reach notification through nats)
      const kinds = await eventually('the order-confirmed notification', 20_000, async () => {
        const sent = await call('GET', `/api/notifications?user=${user.id}`, token)
        const k = (sent.body.items as { kind: string }[]).map((n) => n.kind)
        return k.includes('order-confirmed') ? k : undefined
      })
      expect(kinds).toEqual(['welcome', 'order-confirmed'])
      // 6. the stock reserved
      const inventory = await call('GET', `/api/inventories?sku=${sku}`, staff)
      expect(inventory.body.items).toMatchObject([{ sku, stock: 10, reserved: 2 }])
      // an order the stock cannot cover is compensated: refused, nothing charged, the user told
      const tooMany = await order(token, user.id, product.body, 9)
      expect([tooMany.status, tooMany.body.error]).toEqual([409, 'saga_compensated'])
      const cancelled = await eventually('the order-cancelled notification', 20_000, async () => {
        const sent = await call('GET', `/api/notifications?user=${user.id}`, token)
        return (sent.body.items as { kind: string }[]).some((n) => n.kind === 'order-cancelled')
          ? true
          : undefined
      })
      expect(cancelled).toBe(true)
      expect((await call('GET', `/api/inventories?sku=${sku}`, staff)).body.items[0].reserved).toBe(2)
      // and the traces cross every hop of the order: gateway, order, inventory, payment
      const hops = await eventually('a trace of the order through every hop', 20_000, async () => {
        const r = (await (await fetch('http://127.0.0.1:4400/api/traces?limit=200')).json()) as {
          traces: { services: string[] }[]
        }
        return r.traces.find((t) =>
          ['gateway', 'order', 'inventory', 'payment'].every((s) => t.services.includes(s)),
        )
      })
      expect(hops.services).toEqual(expect.arrayContaining(['gateway', 'order', 'inventory', 'payment']))
    }, 120_000)

    it('3. shoppers under load: the journey, step by step', async () => {
      const r = await sh(blocks[3]!, shop)
      expect(r.exitCode, r.all).toBe(0)
      // every step has its row, and journeys went through to the order (the figures are the
      // machine's: on a loaded CI machine the single user replica refuses some registrations)
      for (const step of ['register', 'login', 'browse', 'order'])
        expect(r.all).toMatch(new RegExp(`shopper › ${step}\\s+\\d+`))
      expect(r.all).toMatch(/flow shopper: \d+ iterations, [1-9]\d* completed/)
    }, 180_000)

    it('4. payment killed under load: judged by phase, nothing lost', async () => {
      const r = await sh(blocks[4]!, shop)
      expect(r.exitCode, r.all).toBe(0)
      expect(r.all).toMatch(/chaos: kill payment:all applied/)
      // the kill is applied 10 s in, give or take the engine's time to kill on a busy machine
      expect(r.all).toMatch(/^\s+fault\s+10\.\ds\.\./m)
      expect(r.all).toMatch(/✔ baseline:errors<1%/)
    }, 180_000)

    it('5. the HTML report holds the phases and the fault window', async () => {
      const r = await sh(blocks[5]!, shop)
      expect(r.exitCode, r.all).toBe(0)
      const html = await readFile(join(shop, 'shop-report.html'), 'utf8')
      expect((await stat(join(shop, 'shop-report.html'))).size).toBeGreaterThan(10_000)
      expect(html).toContain('kill payment:all')
      expect(html).toMatch(/recovery/)
    })

    it("the breaker: payment gone, orders fail fast or compensate, order's breaker opens, then all recovers", async () => {
      const [product] = (await call('GET', '/api/products?sku=MUG-1')).body.items
      const email = `grace-${Date.now()}@example.com`
      const user = (
        await call('POST', '/api/users/register', undefined, {
          email,
          password: 'correct horse',
          name: 'Grace',
        })
      ).body.items[0]
      const token = (await call('POST', '/api/users/login', undefined, { email, password: 'correct horse' }))
        .body.token
      expect((await order(token, user.id, product)).status).toBe(201)
      expect(await orderBreakers()).toEqual([0, 0])
      // a killed container is restarted by Docker within seconds; stopped, payment stays away until
      // msvc undoes the fault (Ctrl-C, here SIGINT, undoes it at once: exit 130)
      const outage: ResultPromise = execa(
        'node',
        [MSVC_BIN, 'chaos', 'stop', 'payment', '--all', '--for', '60s'],
        {
          cwd: shop,
          env: { CI: '1', NO_COLOR: '1' },
          reject: false,
          all: true,
        },
      )
      try {
        await eventually('payment stopped', 15_000, async () =>
          (await replicas('payment')).length === 0 ? true : undefined,
        )
        // each order replica opens its breaker for payment after 5 failed calls (a charge that
        // cannot connect fails at its 3 s timeout): orders until a breaker showed open and 4
        // orders in a row failed fast, 30 at most
        const during: { status: number; ms: number }[] = []
        const fastRun = () => during.slice(-4).filter((d) => d.status === 409 && d.ms < 1000).length
        let sawOpen = false
        for (let i = 0; i < 30 && !(sawOpen && fastRun() === 4); i++) {
          const t0 = performance.now()
          const r = await order(token, user.id, product)
          during.push({ status: r.status, ms: Math.round(performance.now() - t0) })
          if ((await orderBreakers()).includes(1)) sawOpen = true
        }
        // no order is confirmed while payment is away: each is compensated (409) or still running (202)
        expect(
          during.every((d) => d.status === 409 || d.status === 202),
          JSON.stringify(during),
        ).toBe(true)
        expect(sawOpen, "order's breaker for payment never showed open in /metrics").toBe(true)
        // with the breakers open, orders fail fast: well inside the charge's 3 s timeout
        const fast = during.slice(-4)
        expect(
          fast.every((d) => d.status === 409 && d.ms < 1000),
          JSON.stringify(fast),
        ).toBe(true)
      } finally {
        outage.kill('SIGINT')
        const done = await outage
        expect([done.exitCode, String(done.all)]).toEqual([
          130,
          expect.stringMatching(/cancelled \(SIGINT\); restored/),
        ])
      }
      // payment is back: orders are confirmed again once each replica's breaker lets a trial call
      // through and closes (a breaker changes state on a call: orders are sent until both closed)
      let confirmed = 0
      const closed = await eventually('orders confirmed and both breakers closed', 45_000, async () => {
        const r = await order(token, user.id, product)
        confirmed = r.status === 201 ? confirmed + 1 : 0
        const b = await orderBreakers()
        return confirmed >= 4 && b.every((s) => s === 0) ? b : undefined
      })
      expect(closed).toEqual([0, 0])
      // the sagas of the outage end (their refunds retried with backoff) before the audit below
      const [first] = await replicas('order')
      await eventually('every saga ended', 90_000, async () => {
        const r = await fetch(`http://${first}:3004/sagas/count?state=running,compensating`)
        return ((await r.json()) as { count: number }).count === 0 ? true : undefined
      })
    }, 240_000)

    it('6. the audit holds after payment dies under load (exit 0), and breaks when every charge is declined (exit 2)', async () => {
      const r = await sh(blocks[6]!, shop)
      expect(r.exitCode, r.all).toBe(0)
      const out = r.all!
      const held = out.indexOf('hypothesis held: ')
      const violated = out.indexOf('hypothesis violated: ')
      // the first run held (the audit after the kill included), the second, with every charge declined, did not
      expect(held).toBeGreaterThan(0)
      expect(violated).toBeGreaterThan(held)
      expect(out.slice(0, held)).toMatch(/✔ steady state after: reserved/)
      expect(out.slice(held, violated)).toMatch(/broke baseline:errors<1%/)
      expect(r.all).toMatch(/^exit 2$/m)
      expect(r.all).toMatch(/removed \d+ container/)
    }, 600_000)

    // last, once the walkthrough's `msvc down` has stopped the stack: beside its 16 containers (their
    // health checks alone keep 0.4 of a core busy) these checks took 248 s in CI; the services'
    // tests alone took 66 s on a quiet machine
    it("the shop's own code typechecks, lints, is formatted, and its services pass their tests", async () => {
      await runIn(shop, 'npm', ['run', 'typecheck'])
      await runIn(shop, 'npm', ['run', 'lint'])
      await runIn(shop, 'npm', ['run', 'format:check'])
      // the services' tests in one run of the root's config (the kit's are the same as every
      // workspace's: test/e2e/scaffold.test.ts runs them)
      const services = ['user', 'product', 'inventory', 'order', 'payment', 'notification']
      const out = await runIn(
        shop,
        'npx',
        ['vitest', 'run', ...services.flatMap((s) => ['--project', `@shop/${s}`])],
        {
          DOCKER_HOST: 'unix:///nonexistent.sock',
        },
      )
      for (const f of ['user/test/domain', 'order/test/domain', 'notification/test/handlers'])
        expect(out).toContain(`${f.split('/').slice(1).join('/')}.test.ts`)
    }, 900_000)
  },
)
