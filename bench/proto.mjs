#!/usr/bin/env node
// gRPC benchmarks (issue 3), each against a peer measured in the same run:
//  1. `msvc proto gen` for a workspace of 6 grpc services (cold: src/gen removed first), beside
//     a bare protoc + ts-proto run over the same 6 protos (what a user would type by hand).
//     Target: under 3 s.
//  2. Unary calls/s, one client against one server on 127.0.0.1 (closed loop, CONCURRENCY calls
//     in flight, DURATION_S seconds), and p50/p99 at a fixed RATE/s (open loop; latency from the
//     intended send time): the generated client + the generated order service (its own process,
//     started from its bundle, default log level) beside a bare @grpc/grpc-js client and server
//     doing the same GetOrder call with the same message codecs. Target: >= 80 % of bare.
// Usage: npm run build && node bench/proto.mjs   (env: N, ROUNDS, CONCURRENCY, DURATION_S, RATE, LOG_LEVEL)
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout } from 'node:timers'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { alternate, assertFreshBuild, median, rounds, setting, smokeBanner } from './lib.mjs'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const MSVC = join(REPO, 'bin/msvc.js')
const CREATE = join(REPO, 'bin/create-service.js')
assertFreshBuild()
smokeBanner('proto')
const N = rounds('N', 5)
const ROUNDS = rounds('ROUNDS', 3)
const CONCURRENCY = setting('CONCURRENCY', 32, 32)
const DURATION_S = setting('DURATION_S', 5, 1)
const RATE = setting('RATE', 1000, 200)
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
const SERVICES = ['order', 'payment', 'inventory', 'catalog', 'shipping', 'billing']

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6

// ---- workspace with 6 grpc services, node_modules linked to this repo's (no npm install) ----
const tmp = mkdtempSync(join(tmpdir(), 'msvc-bench-proto-'))
const root = join(tmp, 'shop')
// in memory: the generated server runs as a process here, with no database
execFileSync(
  'node',
  [CREATE, 'shop', '--yes', '--service', SERVICES[0], '--http', '--grpc', '--store', 'memory'],
  {
    cwd: tmp,
    env,
    stdio: 'ignore',
  },
)
for (const s of SERVICES.slice(1))
  execFileSync('node', [MSVC, 'add', s, '--grpc', '--yes', '--store', 'memory'], {
    cwd: root,
    env,
    stdio: 'ignore',
  })

// ---- 1. proto gen, taking turns with the bare protoc runs ----
const out = join(tmp, 'bare-out')
const genRuns = {
  msvc: () => {
    rmSync(join(root, 'packages/clients/src/gen'), { recursive: true, force: true })
    const t0 = process.hrtime.bigint()
    execFileSync('node', [MSVC, 'proto', 'gen'], { cwd: root, env, stdio: 'ignore' })
    return ms(t0)
  },
  bare: () => {
    rmSync(out, { recursive: true, force: true })
    mkdirSync(out)
    const t0 = process.hrtime.bigint()
    for (const s of SERVICES)
      execFileSync(
        'node',
        [
          join(REPO, 'node_modules/protoc/protoc.cjs'),
          `--plugin=protoc-gen-ts_proto=${join(REPO, 'node_modules/ts-proto/protoc-gen-ts_proto')}`,
          '-I',
          join(root, 'services', s, 'proto'),
          `--ts_proto_out=${out}`,
          '--ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,env=node',
          `${s}.proto`,
        ],
        { env, stdio: 'ignore' },
      )
    return ms(t0)
  },
}
const { msvc: gen, bare } = await alternate(N, Object.keys(genRuns), (name) => genRuns[name]())

// ---- 2. unary throughput and latency ----
const nm = join(root, 'node_modules')
mkdirSync(join(nm, '@shop'), { recursive: true })
for (const e of readdirSync(join(REPO, 'node_modules')))
  if (!e.startsWith('.')) symlinkSync(join(REPO, 'node_modules', e), join(nm, e))
symlinkSync(join(root, 'packages/kit'), join(nm, '@shop/kit'))
symlinkSync(join(root, 'packages/clients'), join(nm, '@shop/clients'))
execFileSync('node', ['../../scripts/build-service.mjs'], {
  cwd: join(root, 'services/order'),
  stdio: 'ignore',
})
const { build } = await import('esbuild')
const banner = {
  js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
}
writeFileSync(
  join(root, 'api.ts'),
  "export * from '@shop/clients'\nexport { Client, Metadata, Server, ServerCredentials, credentials } from '@grpc/grpc-js'\n",
)
await build({
  entryPoints: [join(root, 'api.ts')],
  outfile: join(root, 'api.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  banner,
  logLevel: 'error',
})
// the bare server: grpc-js with ts-proto's definition and a plain handler answering the same message
writeFileSync(
  join(root, 'bare-server.mjs'),
  `import * as api from './api.mjs'
const item = { id: 'x', name: 'bench', description: '', status: 'active', version: 1, createTime: new Date().toISOString(), updateTime: new Date().toISOString() }
const server = new api.Server()
server.addService(api.order.OrderServiceService, { getOrder: (call, cb) => cb(null, { order: { ...item, id: call.request.id } }) })
server.bindAsync('127.0.0.1:' + process.env.GRPC_PORT, api.ServerCredentials.createInsecure(), () => console.log('ready'))
`,
)
const api = await import(pathToFileURL(join(root, 'api.mjs')).href)

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const c = new api.Client(`127.0.0.1:${port}`, api.credentials.createInsecure())
    const ok = await new Promise((r) => c.waitForReady(Date.now() + 100, (e) => r(!e)))
    c.close()
    if (ok) return
  }
  throw new Error(`no server on ${port}`)
}
async function startProcess(args, cwd, extra) {
  const port = await freePort()
  const p = spawn('node', args, {
    cwd,
    env: {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      GRPC_PORT: String(port),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...extra,
    },
    stdio: 'ignore',
  })
  await waitPort(port)
  return { port, stop: () => p.kill('SIGKILL') }
}

async function closedLoop(call) {
  for (let i = 0; i < 500; i++) await call() // warm-up
  let done = 0
  let errors = 0
  const until = Date.now() + DURATION_S * 1000
  const worker = async () => {
    while (Date.now() < until) {
      try {
        await call()
        done++
      } catch {
        errors++
      }
    }
  }
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { rps: done / (ms(t0) / 1000), errors }
}

async function openLoop(call) {
  const total = RATE * DURATION_S
  const lat = new Float64Array(total)
  const start = performance.now()
  const pending = []
  let errors = 0
  for (let i = 0; i < total; i++) {
    const intended = start + (i * 1000) / RATE
    const wait = intended - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    pending.push(
      call().then(
        () => (lat[i] = performance.now() - intended),
        () => {
          errors++
          lat[i] = performance.now() - intended
        },
      ),
    )
  }
  await Promise.all(pending)
  const sorted = Array.from(lat).sort((a, b) => a - b)
  return { p50: sorted[Math.floor(total * 0.5)], p99: sorted[Math.floor(total * 0.99)], errors }
}

const generated = await startProcess(['dist/main.js'], join(root, 'services/order'), {})
const seed = api.createOrderServiceClient({ address: `127.0.0.1:${generated.port}` })
const id = (await seed.createOrder({ name: 'bench' })).order.id
seed.close()
const genClient = api.createOrderServiceClient({ address: `127.0.0.1:${generated.port}` })
const genCall = () => genClient.getOrder({ id })

const bareServer = await startProcess(['bare-server.mjs'], root, {})
const bareClient = new api.order.OrderServiceClient(
  `127.0.0.1:${bareServer.port}`,
  api.credentials.createInsecure(),
)
const bareCall = () =>
  new Promise((resolve, reject) =>
    bareClient.getOrder({ id }, new api.Metadata(), { deadline: Date.now() + 2000 }, (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  )

// the two take turns, in alternating order from round to round, closed loop then open loop
const calls = { bare: bareCall, gen: genCall }
const tp = await alternate(ROUNDS, Object.keys(calls), (name) => closedLoop(calls[name]))
const lat = await alternate(ROUNDS, Object.keys(calls), (name) => openLoop(calls[name]))
const sum = (xs) => xs.reduce((a, b) => a + b, 0)
const mid = (rs, key) => median(rs.map((r) => r[key]))
const results = {
  bareTp: { rps: mid(tp.bare, 'rps'), errors: sum(tp.bare.map((r) => r.errors)) },
  genTp: { rps: mid(tp.gen, 'rps'), errors: sum(tp.gen.map((r) => r.errors)) },
  bareLat: {
    p50: mid(lat.bare, 'p50'),
    p99: mid(lat.bare, 'p99'),
    errors: sum(lat.bare.map((r) => r.errors)),
  },
  genLat: { p50: mid(lat.gen, 'p50'), p99: mid(lat.gen, 'p99'), errors: sum(lat.gen.map((r) => r.errors)) },
}

genClient.close()
bareClient.close()
generated.stop()
bareServer.stop()
rmSync(tmp, { recursive: true, force: true })

const f = (x) => x.toFixed(1)
console.log(
  `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; shared with other work, so absolute figures vary`,
)
console.log(`\n1. proto gen, 6 services, median of ${N} alternating rounds (cold: src/gen removed each time)`)
console.log(
  `   msvc proto gen              ${f(median(gen))} ms   (min ${f(Math.min(...gen))}, max ${f(Math.max(...gen))})   target < 3000 ms`,
)
console.log(`   bare protoc + ts-proto x6   ${f(median(bare))} ms   (sequential, one protoc per service)`)
console.log(
  `\n2. unary GetOrder on 127.0.0.1, ${CONCURRENCY} in flight for ${DURATION_S} s; then ${RATE}/s for ${DURATION_S} s (latency from intended send time); medians of ${ROUNDS} alternating rounds, errors summed`,
)
console.log(
  `   ${'stack'.padEnd(44)}${'calls/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}  errors`,
)
const row = (name, tp, lat) =>
  console.log(
    `   ${name.padEnd(44)}${tp.rps.toFixed(0).padStart(10)}${f(lat.p50).padStart(9)}${f(lat.p99).padStart(9)}  ${tp.errors + lat.errors}`,
  )
row('bare @grpc/grpc-js client + server', results.bareTp, results.bareLat)
row(
  `generated client + generated service (${process.env.LOG_LEVEL ?? 'info'} logs)`,
  results.genTp,
  results.genLat,
)
console.log(
  `   generated / bare throughput: ${((100 * results.genTp.rps) / results.bareTp.rps).toFixed(0)} %   (target >= 80 %)`,
)
