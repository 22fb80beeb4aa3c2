#!/usr/bin/env node
// What tracing costs a generated service (issue #18): the same route under the same closed load,
// side by side in one run, with tracing off, at 10 % sampling and at 100 % sampling, the spans
// exported over OTLP/HTTP (protobuf) to a local receiver. Targets: 10 % sampling costs at most
// 10 % of the requests per second with tracing off; 100 % at most 30 %.
//  - the route: GET /orders/:id of a generated service (create-service shop --service order --http
//    --store memory, built as for its Docker image: dist/main.js), LOG_LEVEL=info, so that the
//    request line (with its trace_id and span_id when traced) is written too. Traced, a request
//    makes two spans: the server span and the domain operation's (OrderService.get).
//  - the three servers differ only in their environment: none, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//    with OTEL_TRACES_SAMPLER=parentbased_traceidratio and OTEL_TRACES_SAMPLER_ARG 0.1 or 1 (wrk
//    sends no traceparent, so every request is a new trace and the ratio decides).
//  - the receiver: a sink process that answers every export as a collector does and counts the
//    spans in it (walking the protobuf, not decoding it), so the servers pay the whole export and
//    the bench can tell how many spans arrived. It shares core 0 with wrk and costs it little.
// Needs wrk (apt-get install wrk). Each server is pinned to core 1 and wrk (and the sink) to core 0
// when taskset exists; the servers take turns, the order alternating from round to round, for
// ROUNDS rounds, and the medians are compared. CPU time per request (from /proc) is printed too:
// on a busy machine it is the steadier figure (see bench/service.mjs).
// BENCH_SMOKE=1 (or KIT=1, in full) measures a kit server bundled here from the kit's source with the same route,
// hooks and domain span instead (a generated workspace takes ~40 s to install and build); in smoke
// mode for one short round: it proves the bench runs, its figures mean nothing.
// STORE=postgres: the service generated with the postgres store, so that GET /orders/:id reads its
// row from PostgreSQL 15 (a container labelled msvc.bench=tracing, pinned to core 1 with the
// servers, removed at the end) and a traced request makes three spans (server, domain, query):
// tracing's cost beside a route that does what most generated routes do.
// Usage: npm run build && node bench/tracing.mjs   (env: ROUNDS, SECONDS, CONNECTIONS, WORKSPACE, KIT=1,
// STORE=postgres, SERVER_NODE=path/to/node)
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  alternate,
  assertFreshBuild,
  fail,
  median,
  rounds,
  setting,
  smokeBanner,
  SMOKE,
  startPostgres,
} from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
/** the bundled kit server instead of a generated service: always in smoke mode, or with KIT=1 */
const KIT = SMOKE || process.env.KIT === '1'
/**
 * The Node that runs the servers (SERVER_NODE, default this one): the stack's images run Node 24
 * unless msvc.yaml says otherwise, and AsyncLocalStorage, which carries the active span, is built
 * differently there (an AsyncContextFrame instead of async hooks).
 */
const SERVER_NODE = process.env.SERVER_NODE || process.execPath
/** the generated service's store (STORE=postgres: its rows in a PostgreSQL container) */
const STORE = process.env.STORE || 'memory'
if (STORE !== 'memory' && STORE !== 'postgres') fail(`STORE=${STORE}: memory or postgres`)
if (process.argv[2] === 'sink') runSink()
else await main()

async function main() {
  if (!KIT) assertFreshBuild()
  smokeBanner('tracing')
  const ROUNDS = rounds()
  const SECONDS = setting('SECONDS', 5, 1)
  const CONNECTIONS = setting('CONNECTIONS', 50, 50)
  const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
  const env = { ...process.env, CI: '1', NO_COLOR: '1' }
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k]
  const has = (cmd) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }
  if (!has('wrk')) fail('bench/tracing.mjs needs wrk: apt-get install -y wrk')
  const pin = (core, argv) => (has('taskset') ? ['taskset', '-c', String(core), ...argv] : argv)
  const children = []
  const start = (core, argv, opts) => {
    const [cmd, ...args] = pin(core, argv)
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts })
    children.push(child)
    return child
  }
  const given = KIT ? undefined : process.env.WORKSPACE
  const parent = given ? undefined : mkdtempSync(join(tmpdir(), 'msvc-bench-trace-'))
  const container = `msvc-bench-tracing-${process.pid}`
  const usesDb = !KIT && STORE === 'postgres'
  const removeContainer = () => {
    if (usesDb) execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' })
  }
  // Ctrl-C or a kill: the servers and the container go too (the finally does not run then)
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      for (const c of children) c.kill('SIGTERM')
      removeContainer()
      process.exit(130)
    })
  try {
    let databaseUrl
    if (usesDb) {
      // on core 1 with the servers: the route's whole work on the measured core
      const url = await startPostgres({
        name: container,
        label: 'msvc.bench=tracing',
        port: 3120,
        databases: ['orders'],
        cpuset: 1,
      })
      databaseUrl = url('orders')
    }
    let entry
    if (KIT) entry = await bundleKitServer(parent)
    else {
      // WORKSPACE: a generated workspace already built (with an http service `order` of that store)
      const ws = given ?? join(parent, 'shop')
      if (!given) {
        const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, env, stdio: 'ignore' })
        sh('node', [CREATE, 'shop', '--yes', '--service', 'order', '--http', '--store', STORE], parent)
        sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], ws)
        sh('npm', ['run', 'build'], ws)
      }
      entry = join(ws, 'services/order/dist/main.js')
    }

    const sinkPort = 3119
    start(0, ['node', SELF, 'sink', String(sinkPort)], { env })
    await waitFor(`http://127.0.0.1:${sinkPort}/stats`)
    const CONFIGS = {
      off: { port: 3111, env: {} },
      // on, but no trace sampled: what the hooks and the context cost without any span recorded
      '0 %': { port: 3114, env: sampled(0) },
      '10 %': { port: 3112, env: sampled(0.1) },
      '100 %': { port: 3113, env: sampled(1) },
    }
    function sampled(ratio) {
      return {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${sinkPort}/${ratio}/v1/traces`,
        OTEL_SERVICE_NAME: 'order',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(ratio),
        // smoke: batches every 200 ms rather than 5 s, so that the spans are in before the end
        ...(SMOKE ? { OTEL_BSP_SCHEDULE_DELAY: '200' } : {}),
      }
    }
    const servers = {}
    const urls = {}
    const sent = {}
    for (const [name, c] of Object.entries(CONFIGS)) {
      servers[name] = start(1, [SERVER_NODE, entry], {
        env: {
          ...env,
          ...c.env,
          PORT: String(c.port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        },
      })
      const base = `http://127.0.0.1:${c.port}`
      await waitFor(`${base}/health/ready`)
      const created = await (
        await fetch(`${base}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // a name of its own: with STORE=postgres the servers share one table, where names are unique
          body: JSON.stringify({ name: `bench order ${name}`, description: 'one order read over and over' }),
        })
      ).json()
      urls[name] = `${base}/orders/${created.id}`
      sent[name] = 0
    }
    const hasProc = existsSync('/proc/self/stat')
    const cpuMs = (pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return (Number(fields[11]) + Number(fields[12])) * 10
    }
    /** Loads one server with wrk: its requests per second and its CPU microseconds per request. */
    const wrk = (name) => {
      const [cmd, ...args] = pin(0, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, urls[name]])
      const pid = servers[name].pid
      const before = hasProc ? cpuMs(pid) : 0
      const out = execFileSync(cmd, args, { encoding: 'utf8' })
      const used = hasProc ? cpuMs(pid) - before : NaN
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
      const requests = Number(/(\d+) requests in/.exec(out)?.[1])
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
      if (!rps || non2xx) throw new Error(`wrk against ${urls[name]}: ${out}`)
      sent[name] += requests
      return { rps, cpuUs: (used * 1000) / requests }
    }
    const names = Object.keys(CONFIGS)
    for (const name of names) wrk(name) // warm-up (JIT), not counted in the figures
    const runs = await alternate(ROUNDS, names, (name) => wrk(name))
    // the batches still held go out within the exporter's schedule (5 s)
    await new Promise((r) => setTimeout(r, SMOKE ? 1000 : 6000))
    const received = await (await fetch(`http://127.0.0.1:${sinkPort}/stats`)).json()

    const rps = (name) => median(runs[name].map((r) => r.rps))
    const cpu = (name) => median(runs[name].map((r) => r.cpuUs))
    console.log(
      `tracing benchmark (${KIT ? 'kit server bundled from source' : `generated GET /orders/:id, ${STORE} store`}): wrk -t1 -c${CONNECTIONS} -d${SECONDS}s x ${ROUNDS}, node ${execFileSync(SERVER_NODE, ['--version'], { encoding: 'utf8' }).trim()} (servers), ${has('taskset') ? 'servers on core 1, wrk and the receiver on core 0' : 'unpinned'}`,
    )
    for (const name of names) {
      const figures = runs[name].map((r) => r.rps.toFixed(0)).join(', ')
      const cpuText = hasProc ? `; CPU ${cpu(name).toFixed(1)} us/request` : ''
      const spans =
        name === 'off'
          ? ''
          : `; spans received ${received[String(ratioOf(name))] ?? 0} for ${sent[name]} requests`
      console.log(`${name.padEnd(6)} median ${rps(name).toFixed(0)} req/s  (${figures})${cpuText}${spans}`)
    }
    const verdicts = [
      ['10 %', 0.9],
      ['100 %', 0.7],
    ].map(([name, floor]) => {
      const ratio = rps(name) / rps('off')
      const pairs = runs[name].map((r, i) => r.rps / runs.off[i].rps)
      const cpuText = hasProc ? `, CPU per request +${((cpu(name) / cpu('off') - 1) * 100).toFixed(1)} %` : ''
      const ok = ratio >= floor
      console.log(
        `${name} sampling: ${(ratio * 100).toFixed(1)} % of off's req/s (per round: ${pairs.map((x) => (x * 100).toFixed(0)).join(', ')} %)${cpuText}; target >= ${floor * 100} %: ${ok ? 'met' : 'NOT met'}`,
      )
      return ok
    })
    if (!SMOKE && verdicts.includes(false)) process.exitCode = 2
  } finally {
    for (const c of children) c.kill('SIGTERM')
    removeContainer()
    if (parent) rmSync(parent, { recursive: true, force: true })
  }
}

function ratioOf(name) {
  return Number(name.split(' ')[0]) / 100
}

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${url} did not answer`)
}

/**
 * Smoke mode's server: the kit bundled from its source (as a service's build does), serving
 * GET /orders/:id as the generated route does (params and response schemas, the domain call
 * given its span by traceMethods), tracing started from the environment first.
 */
async function bundleKitServer(dir) {
  const { build } = await import('esbuild')
  const outdir = join(dir, 'kit-server')
  mkdirSync(outdir, { recursive: true })
  const kit = fileURLToPath(
    new URL('../templates/workspace/files/packages/kit/src/index.ts', import.meta.url),
  )
  const contents = `
    import { randomUUID } from 'node:crypto'
    import { createHttpServer, createLogger, HealthRegistry, Metrics, NotFoundError, startTracing, traceMethods } from ${JSON.stringify(kit)}
    await startTracing({ service: 'order' })
    const logger = createLogger('order', process.env.LOG_LEVEL ?? 'info')
    const app = createHttpServer({ service: 'order', logger, metrics: new Metrics('order'), health: new HealthRegistry() })
    class OrderService {
      byId = new Map()
      async create(input) { const o = { id: randomUUID(), ...input, version: 1 }; this.byId.set(o.id, o); return o }
      async get(id) { const o = this.byId.get(id); if (!o) throw new NotFoundError('no order ' + id); return o }
    }
    const service = traceMethods(new OrderService(), 'OrderService')
    const ORDER = { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, version: { type: 'integer' } } }
    app.post('/orders', { schema: { response: { 201: ORDER } } }, async (req, reply) => reply.code(201).send(await service.create(req.body)))
    app.get('/orders/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } }, response: { 200: ORDER } } }, (req) => service.get(req.params.id))
    await app.listen({ port: Number(process.env.PORT), host: process.env.HOST })
  `
  await build({
    stdin: { contents, resolveDir: dir, sourcefile: 'kit-server.ts', loader: 'ts' },
    outfile: join(outdir, 'main.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    external: ['pg-native'],
  })
  return join(outdir, 'main.mjs')
}

/**
 * The receiver: answers every OTLP/HTTP trace export with an empty ExportTraceServiceResponse and
 * counts its spans per path prefix (`/<ratio>/v1/traces`) by walking the protobuf: request field 1
 * (ResourceSpans), its field 2 (ScopeSpans), their field 2 (Span). GET /stats gives the counts.
 */
function runSink() {
  const counts = {}
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts))
      return
    }
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const key = req.url.split('/')[1]
      counts[key] = (counts[key] ?? 0) + countSpans(Buffer.concat(chunks))
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  server.listen(Number(process.argv[3]), '127.0.0.1')
}

function countSpans(buf) {
  let spans = 0
  for (const [rs0, rs1] of fields(buf, 0, buf.length, 1))
    for (const [ss0, ss1] of fields(buf, rs0, rs1, 2)) spans += fields(buf, ss0, ss1, 2).length
  return spans
}

/** The [start, end) of every length-delimited field `wanted` between start and end. */
function fields(buf, start, end, wanted) {
  const found = []
  let i = start
  const varint = () => {
    let v = 0
    let shift = 0
    for (;;) {
      const b = buf[i++]
      v += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return v
      shift += 7
    }
  }
  while (i < end) {
    const key = varint()
    const type = key & 7
    if (type === 0) varint()
    else if (type === 1) i += 8
    else if (type === 5) i += 4
    else if (type === 2) {
      const len = varint()
      if (key >>> 3 === wanted) found.push([i, i + len])
      i += len
    } else throw new Error(`protobuf wire type ${type} not expected in a trace export`)
  }
  return found
}
