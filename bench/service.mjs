#!/usr/bin/env node
// The generated service's GET /orders/:id against a bare fastify route answering the same JSON,
// side by side in one run, with wrk on 127.0.0.1. Target (issue #2): at least 70 % of the bare
// route's requests per second.
//  - generated: the service as built for its Docker image (dist/main.js), LOG_LEVEL=info: request
//    id from or into x-request-id, params validated by its JSON schema, the entity read through
//    the async repository, serialized by its response schema, one JSON log line per request
//    (written to stdout, here /dev/null), RED metrics per route template.
//  - bare: fastify from this repository with `logger: false` and one route,
//    `app.get('/orders/:id', async () => order)`, returning the same object (serialized with
//    JSON.stringify, as a route without a schema is). The target is measured against this one.
//  - prebuilt: the same route sending the body as a string made once at start, with its content
//    type set by hand (what this benchmark compared with before); not idiomatic, printed for
//    reference.
// Needs wrk (apt-get install wrk). Each server is pinned to core 1 and wrk to core 0 when taskset
// exists; the servers take turns (order alternating) for ROUNDS rounds, and the medians are compared.
// Where /proc exists, each server's CPU time per request is printed too: on a busy machine wrk
// may not saturate the server, and CPU per request is then the steadier figure.
// Usage: npm run build && node bench/service.mjs   (env: ROUNDS, SECONDS, CONNECTIONS, WORKSPACE)
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alternate, assertFreshBuild, median, rounds, setting, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('service')
const ROUNDS = rounds()
const SECONDS = setting('SECONDS', 5, 1)
const CONNECTIONS = setting('CONNECTIONS', 50, 50)
const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
const REPO = fileURLToPath(new URL('..', import.meta.url))
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
if (!has('wrk')) {
  console.error('bench/service.mjs needs wrk: apt-get install -y wrk')
  process.exit(1)
}
const pin = (core, argv) => (has('taskset') ? ['taskset', '-c', String(core), ...argv] : argv)

// WORKSPACE: a generated workspace already built (with an http service `order`), to measure it as
// it is; by default one is generated, installed and built in a temp folder.
const parent = process.env.WORKSPACE ? undefined : mkdtempSync(join(tmpdir(), 'msvc-bench-svc-'))
const ws = process.env.WORKSPACE ?? join(parent, 'shop')
const children = []
const start = (argv, opts) => {
  const [cmd, ...args] = pin(1, argv)
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts })
  children.push(child)
  return child
}
const waitFor = async (url) => {
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
/** user + system CPU of a process in milliseconds, from /proc (clock ticks of 10 ms). */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}
const hasProc = existsSync('/proc/self/stat')
/** Loads one server with wrk: its requests per second and its CPU microseconds per request. */
const wrk = (url, pid) => {
  const [cmd, ...args] = pin(0, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url])
  const before = hasProc ? cpuMs(pid) : 0
  const out = execFileSync(cmd, args, { encoding: 'utf8' })
  const used = hasProc ? cpuMs(pid) - before : NaN
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const requests = Number(/(\d+) requests in/.exec(out)?.[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  if (!rps || non2xx) throw new Error(`wrk against ${url}: ${out}`)
  return { rps, cpuUs: (used * 1000) / requests }
}

try {
  const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, env, stdio: 'ignore' })
  if (parent) {
    sh('node', [CREATE, 'shop', '--yes', '--service', 'order', '--http', '--store', 'memory'], parent)
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], ws)
    sh('npm', ['run', 'build'], ws)
  }

  const ports = { generated: 3101, bare: 3102, prebuilt: 3103 }
  const generated = start(['node', join(ws, 'services/order/dist/main.js')], {
    env: { ...env, PORT: String(ports.generated), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  })
  await waitFor(`http://127.0.0.1:${ports.generated}/health/ready`)
  const created = await (
    await fetch(`http://127.0.0.1:${ports.generated}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench order', description: 'one order read over and over' }),
    })
  ).json()
  // The peers: fastify from this repository, one route, the same JSON, no logging or metrics.
  const peer = (port, route) => `
    const app = require('fastify')({ logger: false })
    const order = ${JSON.stringify(created)}
    ${route}
    app.listen({ port: ${port}, host: '127.0.0.1' })`
  const bare = start(['node', '-e', peer(ports.bare, `app.get('/orders/:id', async () => order)`)], {
    cwd: REPO,
    env,
  })
  const prebuilt = start(
    [
      'node',
      '-e',
      peer(
        ports.prebuilt,
        `const body = JSON.stringify(order)
        app.get('/orders/:id', (req, reply) => { reply.type('application/json; charset=utf-8').send(body) })`,
      ),
    ],
    { cwd: REPO, env },
  )
  const servers = { generated, bare, prebuilt }
  const urls = Object.fromEntries(
    Object.entries(ports).map(([name, port]) => [name, `http://127.0.0.1:${port}/orders/${created.id}`]),
  )
  for (const url of Object.values(urls)) await waitFor(url)

  const bodies = await Promise.all(Object.values(urls).map(async (url) => (await fetch(url)).text()))
  const same = bodies.every((b) => b === bodies[0])
  for (const [name, url] of Object.entries(urls)) wrk(url, servers[name].pid) // warm-up (JIT), not counted
  // the three take turns, in alternating order from round to round
  const runs = await alternate(ROUNDS, Object.keys(urls), (name) => wrk(urls[name], servers[name].pid))
  const rps = (name) => median(runs[name].map((r) => r.rps))
  const cpu = (name) => median(runs[name].map((r) => r.cpuUs))
  console.log(
    `service benchmark: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s x ${ROUNDS}, node ${process.version}, ${has('taskset') ? 'server on core 1, wrk on core 0' : 'unpinned'}`,
  )
  console.log(`same JSON body from all: ${same}`)
  const label = {
    generated: 'generated GET /orders/:id',
    bare: 'bare fastify route',
    prebuilt: 'prebuilt string body',
  }
  for (const name of Object.keys(runs)) {
    const figures = runs[name].map((r) => r.rps.toFixed(0)).join(', ')
    const cpuText = hasProc ? `; CPU ${cpu(name).toFixed(1)} us/request` : ''
    console.log(`${label[name].padEnd(26)} median ${rps(name).toFixed(0)} req/s  (${figures})${cpuText}`)
  }
  const ratio = rps('generated') / rps('bare')
  console.log(
    `ratio ${(ratio * 100).toFixed(1)} % of bare (${((rps('generated') / rps('prebuilt')) * 100).toFixed(1)} % of prebuilt); target >= 70 %: ${ratio >= 0.7 ? 'met' : 'NOT met'}`,
  )
  // Each round's generated figure over the bare one measured next to it: steadier than the
  // ratio of medians when the machine's load drifts during the run.
  const pairs = runs.generated.map((r, i) => r.rps / runs.bare[i].rps)
  console.log(
    `per-round ratios to bare: ${pairs.map((x) => (x * 100).toFixed(0)).join(', ')} %; median ${(median(pairs) * 100).toFixed(1)} %`,
  )
  if (hasProc)
    console.log(
      `CPU per request, bare / generated: ${((cpu('bare') / cpu('generated')) * 100).toFixed(1)} % (prebuilt / generated: ${((cpu('prebuilt') / cpu('generated')) * 100).toFixed(1)} %)`,
    )
} finally {
  for (const c of children) c.kill('SIGTERM')
  if (parent) rmSync(parent, { recursive: true, force: true })
}
