#!/usr/bin/env node
// Event throughput and latency: one publisher process and one consumer process through a real
// nats-server with JetStream (publishes wait for the JetStream ack, the consumer acks each event),
// once through the workspace kit's EventBus and once through bare @nats-io/jetstream calls doing
// the same publish/consume, alternating in the same run. Prints events/s end to end and
// publish-to-handled latency percentiles, and the kit's figures as ratios of the bare ones.
// Target (issue #4): >= 5,000 events/s end to end through the kit.
// Needs nats-server on PATH (Debian: apt-get install nats-server). N, WINDOW, ROUNDS tune it.
// The kit is bundled from its sources in templates/ at the start of each run (no build needed).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { alternate, median, rounds, setting, smokeBanner } from './lib.mjs'

smokeBanner('events')
const N = setting('N', 20_000, 500)
const WINDOW = setting('WINDOW', 64, 64)
const ROUNDS = rounds('ROUNDS', 3)
const KIT = fileURLToPath(new URL('../templates/workspace/files/packages/kit/src/', import.meta.url))
const REPO = fileURLToPath(new URL('..', import.meta.url))

// One worker source for both roles and both variants; bundled with the kit's own event bus.
const WORKER = `
import { EventBus } from './events/index.js'
import { createLogger } from './logger.js'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'

const { role, variant, url, ws, n, window } = JSON.parse(process.env.BENCH)
const now = () => performance.timeOrigin + performance.now()
const type = 'bench.ping'
const lat = []
let first = Infinity
const done = () => {
  const end = now()
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]
  process.stdout.write(JSON.stringify({ count: lat.length, rate: lat.length / ((end - first) / 1000), p50: q(0.5), p99: q(0.99) }) + '\\n')
}
const onEvent = (data) => {
  first = Math.min(first, data.sentAt)
  lat.push(now() - data.sentAt)
  return lat.length === n
}
async function publishAll(publishOne) {
  let next = 0
  await Promise.all(Array.from({ length: window }, async () => {
    for (let i = next++; i < n; i = next++) await publishOne({ n: i, sentAt: now() })
  }))
}

if (variant === 'kit') {
  const bus = new EventBus({ workspace: ws, service: role, url, logger: createLogger(role, 'warn'),
    schemas: { [type]: { n: 'integer', sentAt: 'number' } } })
  if (role === 'consumer') {
    bus.subscribe(type, async (data) => { if (onEvent(data)) { done(); setTimeout(() => process.exit(0), 10) } })
    await bus.start()
    process.stdout.write('ready\\n')
  } else {
    await bus.start()
    await publishAll((d) => bus.publish(type, d))
    await bus.close()
    process.exit(0)
  }
} else {
  const nc = await connect({ servers: url })
  const js = jetstream(nc)
  const jsm = await jetstreamManager(nc)
  const stream = ws + '-events', subject = ws + '.events.' + type
  await jsm.streams.add({ name: stream, subjects: [ws + '.events.>'] }).catch(() => undefined)
  if (role === 'consumer') {
    await jsm.consumers.add(stream, { durable_name: 'consumer', filter_subject: subject, ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All, ack_wait: 30e9, max_ack_pending: 1000 })
    const c = await js.consumers.get(stream, 'consumer')
    const msgs = await c.consume({ max_messages: 256 })
    process.stdout.write('ready\\n')
    for await (const m of msgs) {
      const e = JSON.parse(m.string())
      m.ack()
      if (onEvent(e.data)) { done(); process.exit(0) }
    }
  } else {
    let id = 0
    await publishAll((data) => js.publish(subject, JSON.stringify({ id: String(++id), type, data }), { msgID: String(id) }))
    await nc.drain()
    process.exit(0)
  }
}
`

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

function run(bundle, cfg) {
  const p = spawn(process.execPath, [bundle], { env: { ...process.env, BENCH: JSON.stringify(cfg) } })
  let out = ''
  let err = ''
  p.stderr.on('data', (b) => (err += b))
  const ready = new Promise((resolve, reject) => {
    p.stdout.on('data', (b) => {
      out += b
      if (out.includes('ready')) resolve()
    })
    p.on('exit', (code) => (code ? reject(new Error(`${cfg.role} exited ${code}: ${err}`)) : resolve()))
  })
  const exited = new Promise((resolve, reject) =>
    p.on('exit', (code) => (code ? reject(new Error(`${cfg.role} exited ${code}: ${err}`)) : resolve(out))),
  )
  return { ready, exited, kill: () => p.kill('SIGKILL') }
}

const dir = mkdtempSync(join(tmpdir(), 'msvc-bench-events-'))
const bundle = join(dir, 'worker.mjs')
await build({
  stdin: { contents: WORKER, resolveDir: KIT, sourcefile: 'bench-worker.ts', loader: 'ts' },
  nodePaths: [join(REPO, 'node_modules')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  logLevel: 'silent',
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
})
const port = await freePort()
const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')], {
  stdio: 'ignore',
})
await sleep(700)
const url = `nats://127.0.0.1:${port}`

let results
try {
  // the two take turns, in alternating order from round to round
  results = await alternate(ROUNDS, ['bare', 'kit'], async (variant, round) => {
    const ws = `b${round}${variant}`
    const consumer = run(bundle, { role: 'consumer', variant, url, ws, n: N, window: WINDOW })
    await consumer.ready
    const publisher = run(bundle, { role: 'publisher', variant, url, ws, n: N, window: WINDOW })
    await publisher.exited
    const line = (await consumer.exited).split('\n').find((l) => l.startsWith('{'))
    return JSON.parse(line)
  })
} finally {
  nats.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}

const summary = Object.fromEntries(
  Object.entries(results).map(([k, rs]) => [
    k,
    {
      rate: median(rs.map((r) => r.rate)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
    },
  ]),
)
console.log(
  `events: ${N} per run, ${WINDOW} publishes in flight, ${ROUNDS} rounds (medians); nats-server ${url}`,
)
console.log('variant                         events/s   p50 ms   p99 ms')
for (const [k, s] of Object.entries(summary))
  console.log(
    `${(k === 'kit' ? 'kit EventBus' : 'bare @nats-io/jetstream').padEnd(30)} ${s.rate.toFixed(0).padStart(9)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)}`,
  )
console.log(
  `kit / bare: throughput x${(summary.kit.rate / summary.bare.rate).toFixed(2)}, p50 x${(summary.kit.p50 / summary.bare.p50).toFixed(2)}, p99 x${(summary.kit.p99 / summary.bare.p99).toFixed(2)}`,
)
console.log(`target: kit >= 5000 events/s end to end: ${summary.kit.rate >= 5000 ? 'met' : 'NOT met'}`)
