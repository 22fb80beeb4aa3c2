#!/usr/bin/env node
// A postgres service against bare fastify routes running the same SQL through the same driver
// (node-postgres), on the same PostgreSQL (the postgres image in Docker), side by side in one run
// with wrk on 127.0.0.1; then the outbox relay's throughput and latency against the same events
// published straight to JetStream. Targets (issue #15):
//  - GET /orders/:id: at least 80 % of the bare route's requests per second (the bare route:
//    `select * from orders where id = $1` as a named statement, prepared once per connection as
//    the generated reads are, the row sent back as it is);
//  - POST /orders (INSERT and its order.created outbox row in one transaction): at least 60 % of
//    a bare route doing the INSERT alone;
//  - the relay: at least 3,000 events/s from commit to JetStream ack; p99 commit -> published
//    under a steady 1,000 events/s is printed.
// The generated service runs as built for its image (dist/main.js, LOG_LEVEL=info, its relay
// publishing to a real nats-server). Servers are pinned to core 1 and wrk to core 0 when taskset
// exists; they take turns in alternating order for ROUNDS rounds and the medians are compared.
// Needs Docker (the postgres image), wrk and nats-server.
// Usage: npm run build && node bench/store.mjs   (env: ROUNDS, SECONDS, CONNECTIONS, EVENTS)
import { execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { alternate, assertFreshBuild, median, rounds, setting, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('store')
const ROUNDS = rounds()
const SECONDS = setting('SECONDS', 5, 1)
const CONNECTIONS = setting('CONNECTIONS', 20, 10)
const EVENTS = setting('EVENTS', 20000, 500)
const REPO = fileURLToPath(new URL('..', import.meta.url))
const CREATE = join(REPO, 'bin/create-service.js')
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
for (const tool of ['wrk', 'nats-server', 'docker'])
  if (!has(tool)) {
    console.error(`bench/store.mjs needs ${tool}`)
    process.exit(1)
  }
const pin = (core, argv) => (has('taskset') ? ['taskset', '-c', String(core), ...argv] : argv)
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
const waitFor = async (url, tries = 300) => {
  for (let i = 0; i < tries; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not answer`)
}

const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-store-'))
const ws = join(parent, 'shop')
const children = []
const container = `msvc-bench-store-${process.pid}`
const start = (argv, opts) => {
  const [cmd, ...args] = pin(1, argv)
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts })
  children.push(child)
  return child
}

/** wrk against one server: requests per second (every answer must be 2xx). */
const wrk = (url, script) => {
  const [cmd, ...args] = pin(0, [
    'wrk',
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${SECONDS}s`,
    ...(script ? ['-s', script] : []),
    url,
  ])
  const out = execFileSync(cmd, args, { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  if (!rps || non2xx) throw new Error(`wrk against ${url}: ${out}`)
  return rps
}

try {
  const sh = (cmd, args, cwd = ws) => execFileSync(cmd, args, { cwd, env, stdio: 'ignore' })
  const dbPort = await freePort()
  execFileSync(
    'docker',
    [
      'run',
      '-d',
      '--name',
      container,
      '--label',
      'msvc.bench=store',
      '-e',
      'POSTGRES_USER=order',
      '-e',
      'POSTGRES_PASSWORD=order-dev',
      '-e',
      'POSTGRES_DB=order',
      '-p',
      `127.0.0.1:${dbPort}:5432`,
      'postgres:15',
    ],
    { stdio: 'ignore' },
  )
  const natsPort = await freePort()
  children.push(
    spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(parent, 'js')], {
      stdio: 'ignore',
    }),
  )
  sh(
    'node',
    [CREATE, 'shop', '--yes', '--service', 'order', '--http', '--events', '--publishes', 'order.created'],
    parent,
  )
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])
  sh('npm', ['run', 'build'])
  const url = `postgres://order:order-dev@127.0.0.1:${dbPort}/order`
  const ports = { generated: 3201, bare: 3202 }
  start(['node', join(ws, 'services/order/dist/main.js')], {
    env: {
      ...env,
      PORT: String(ports.generated),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: url,
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
    },
  })
  await waitFor(`http://127.0.0.1:${ports.generated}/health/ready`)
  // the peer: fastify and pg from the generated workspace (the same versions), the same table
  const bare = join(ws, 'services/order/bare.cjs')
  writeFileSync(
    bare,
    `const { randomUUID } = require('node:crypto')
const pg = require('pg')
const app = require('fastify')({ logger: false })
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
// named statements: prepared once per connection, as the generated repository's reads are
app.get('/orders/:id', async (req) =>
  (await pool.query({ name: 'by_id', text: 'select * from orders where id = $1', values: [req.params.id] })).rows[0])
app.post('/orders', async (req, reply) => {
  const row = (await pool.query({
    name: 'insert',
    text: "insert into orders (id, name, status, version, created_at, updated_at) values ($1, $2, 'active', 1, now(), now()) returning *",
    values: [randomUUID(), req.body.name],
  })).rows[0]
  return reply.code(201).send(row)
})
app.listen({ port: ${ports.bare}, host: '127.0.0.1' })
`,
  )
  start(['node', bare], { cwd: join(ws, 'services/order'), env: { ...env, DATABASE_URL: url } })
  const created = await (
    await fetch(`http://127.0.0.1:${ports.generated}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'read over and over' }),
    })
  ).json()
  const getUrl = (name) => `http://127.0.0.1:${ports[name]}/orders/${created.id}`
  const postUrl = (name) => `http://127.0.0.1:${ports[name]}/orders`
  await waitFor(getUrl('bare'))
  // a script per run: names unique across runs (the resource answers 409 to a taken one)
  let scripts = 0
  const postScript = () => {
    const script = join(parent, `post-${++scripts}.lua`)
    const lua = [
      'local n = 0',
      `local run = "r${scripts}"`,
      'wrk.method = "POST"',
      'wrk.headers["content-type"] = "application/json"',
      'request = function()',
      '  n = n + 1',
      `  return wrk.format(nil, nil, nil, '{"name":"' .. run .. '-' .. n .. '"}')`,
      'end',
    ]
    writeFileSync(script, lua.join('\n') + '\n')
    return script
  }
  // warm-up, not counted: each server's code paths compiled and its connections opened
  for (const name of Object.keys(ports)) {
    wrk(getUrl(name))
    wrk(postUrl(name), postScript())
  }
  const gets = await alternate(ROUNDS, Object.keys(ports), (name) => wrk(getUrl(name)))
  const posts = await alternate(ROUNDS, Object.keys(ports), (name) => wrk(postUrl(name), postScript()))
  const ratio = (runs) => median(runs.generated) / median(runs.bare)
  console.log(
    `store benchmark: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s x ${ROUNDS}, node ${process.version}, PostgreSQL in Docker, ${has('taskset') ? 'servers on core 1, wrk on core 0' : 'unpinned'}`,
  )
  for (const [what, runs] of [
    ['GET /orders/:id', gets],
    ['POST /orders', posts],
  ])
    for (const name of Object.keys(ports))
      console.log(
        `${what.padEnd(16)} ${name.padEnd(10)} median ${median(runs[name]).toFixed(0)} req/s  (${runs[name].map((x) => x.toFixed(0)).join(', ')})`,
      )
  const getRatio = ratio(gets)
  const postRatio = ratio(posts)
  console.log(
    `GET ratio ${(getRatio * 100).toFixed(1)} % of bare; target >= 80 %: ${getRatio >= 0.8 ? 'met' : 'NOT met'}`,
  )
  console.log(
    `POST ratio ${(postRatio * 100).toFixed(1)} % of bare (INSERT + outbox row vs INSERT); target >= 60 %: ${postRatio >= 0.6 ? 'met' : 'NOT met'}`,
  )

  // the servers stop: the service's own relay would take the outbox rows measured below
  for (const c of children.splice(1)) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 500))

  // The relay, in this process: the kit's sources bundled, against the same database and broker.
  const relayBundle = join(parent, 'relay.mjs')
  const kit = join(REPO, 'templates/workspace/files/packages/kit/src')
  await build({
    stdin: {
      contents: `export * from ${JSON.stringify(join(kit, 'db/index.ts'))}
export { EventBus } from ${JSON.stringify(join(kit, 'events/index.ts'))}
export { createLogger } from ${JSON.stringify(join(kit, 'logger.ts'))}
export { sql } from 'drizzle-orm'`,
      resolveDir: join(ws, 'packages/kit'),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: relayBundle,
    external: ['pg-native'],
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  })
  const k = await import(pathToFileURL(relayBundle).href)
  const logger = k.createLogger('bench', 'silent')
  const conn = await k.openDatabase({ url, migrationsFolder: join(ws, 'services/order/drizzle'), logger })
  const bus = new k.EventBus({
    workspace: 'bench',
    service: 'order',
    url: `nats://127.0.0.1:${natsPort}`,
    schemas: { 'order.created': { orderId: 'string' } },
    logger,
  })
  await bus.start()
  const fill = async (n) => {
    for (let i = 0; i < n; i += 500) {
      const events = Array.from({ length: Math.min(500, n - i) }, () => {
        const id = randomUUID()
        return { id, type: 'order.created', payload: { orderId: id } }
      })
      await conn.db.transaction((tx) => k.writeOutbox(tx, events))
    }
  }
  await conn.db.execute(k.sql`delete from outbox`)
  const drainRate = async () => {
    await fill(EVENTS)
    const relay = new k.OutboxRelay({
      db: conn.db,
      logger,
      publish: (e) => bus.publish(e.type, e.payload, { id: e.id }),
    })
    const t0 = performance.now()
    let sent = 0
    for (let n; (n = await relay.drainOnce()) > 0;) sent += n
    return sent / ((performance.now() - t0) / 1000)
  }
  const directRate = async () => {
    const t0 = performance.now()
    for (let i = 0; i < EVENTS; i += 200)
      await Promise.all(
        Array.from({ length: Math.min(200, EVENTS - i) }, () => {
          const id = randomUUID()
          return bus.publish('order.created', { orderId: id }, { id })
        }),
      )
    return EVENTS / ((performance.now() - t0) / 1000)
  }
  const relayRuns = await alternate(ROUNDS, ['relay', 'direct'], (name) =>
    name === 'relay' ? drainRate() : directRate(),
  )
  const relayRate = median(relayRuns.relay)
  console.log(
    `outbox relay: median ${relayRate.toFixed(0)} events/s from commit to JetStream ack (${relayRuns.relay.map((x) => x.toFixed(0)).join(', ')}); the same events published straight: ${median(relayRuns.direct).toFixed(0)} events/s (${((relayRate / median(relayRuns.direct)) * 100).toFixed(0)} %); target >= 3000 events/s: ${relayRate >= 3000 ? 'met' : 'NOT met'}`,
  )
  // latency under a steady load: each event's commit time, then the time its publish was acknowledged
  const committed = new Map()
  const latencies = []
  const relay = new k.OutboxRelay({
    db: conn.db,
    logger,
    publish: async (e) => {
      await bus.publish(e.type, e.payload, { id: e.id })
      const at = committed.get(e.id)
      if (at !== undefined) latencies.push(performance.now() - at)
    },
  })
  relay.start()
  const RATE = 1000
  const total = Math.max(200, Math.round(RATE * SECONDS))
  const t0 = performance.now()
  for (let i = 0; i < total; i += 10) {
    const due = t0 + (i / RATE) * 1000
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const events = Array.from({ length: 10 }, () => {
      const id = randomUUID()
      return { id, type: 'order.created', payload: { orderId: id } }
    })
    await conn.db.transaction((tx) => k.writeOutbox(tx, events))
    const now = performance.now()
    for (const e of events) committed.set(e.id, now)
    relay.notify()
  }
  while (latencies.length < total && performance.now() - t0 < 60_000)
    await new Promise((r) => setTimeout(r, 50))
  await relay.stop()
  latencies.sort((a, b) => a - b)
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]
  console.log(
    `commit -> published at ${RATE} events/s (${latencies.length} events): p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${latencies.at(-1).toFixed(1)} ms`,
  )
  await bus.close()
  await conn.close()
} finally {
  for (const c of children) c.kill('SIGTERM')
  try {
    execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' })
  } catch {
    // already gone
  }
  rmSync(parent, { recursive: true, force: true })
}
