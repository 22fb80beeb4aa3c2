#!/usr/bin/env node
// The generated service's GET /orders/:id (validation, JSON logs, RED metrics, request ids all on)
// against a bare fastify route answering the same JSON, side by side in one run, with wrk on
// 127.0.0.1. Target (issue #2): at least 70 % of the bare route's requests per second.
// Needs wrk (apt-get install wrk). Each server is pinned to core 1 and wrk to core 0 when taskset
// exists, and the two are measured alternately, ROUNDS times each; the medians are compared.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const SECONDS = Number(process.env.SECONDS ?? 5)
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50)
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

const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-svc-'))
const ws = join(parent, 'shop')
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
const wrk = (url) => {
  const [cmd, ...args] = pin(0, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url])
  const out = execFileSync(cmd, args, { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  if (!rps || non2xx) throw new Error(`wrk against ${url}: ${out}`)
  return rps
}

try {
  const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, env, stdio: 'ignore' })
  sh('node', [CREATE, 'shop', '--yes', '--service', 'order', '--http'], parent)
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], ws)
  sh('npm', ['run', 'build'], ws)

  const svcPort = 3101
  const barePort = 3102
  start(['node', join(ws, 'services/order/dist/main.js')], {
    env: { ...env, PORT: String(svcPort), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  })
  await waitFor(`http://127.0.0.1:${svcPort}/health/ready`)
  const created = await (
    await fetch(`http://127.0.0.1:${svcPort}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench order', description: 'one order read over and over' }),
    })
  ).json()
  // The bare peer: fastify from this repository, one route, the same body, no logging or metrics.
  const bare = `
    const app = require('fastify')({ logger: false })
    const body = ${JSON.stringify(JSON.stringify(created))}
    app.get('/orders/:id', (req, reply) => { reply.type('application/json; charset=utf-8').send(body) })
    app.listen({ port: ${barePort}, host: '127.0.0.1' })`
  start(['node', '-e', bare], { cwd: REPO, env })
  await waitFor(`http://127.0.0.1:${barePort}/orders/${created.id}`)

  const svcUrl = `http://127.0.0.1:${svcPort}/orders/${created.id}`
  const bareUrl = `http://127.0.0.1:${barePort}/orders/${created.id}`
  const same = (await (await fetch(svcUrl)).text()) === (await (await fetch(bareUrl)).text())
  wrk(svcUrl) // warm-up (JIT) for both, not counted
  wrk(bareUrl)
  const svc = []
  const base = []
  for (let i = 0; i < ROUNDS; i++) {
    svc.push(wrk(svcUrl))
    base.push(wrk(bareUrl))
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const ratio = median(svc) / median(base)
  console.log(
    `service benchmark: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s x ${ROUNDS}, node ${process.version}, ${has('taskset') ? 'server on core 1, wrk on core 0' : 'unpinned'}`,
  )
  console.log(`same JSON body from both: ${same}`)
  console.log(
    `generated GET /orders/:id  median ${median(svc).toFixed(0)} req/s  (${svc.map((x) => x.toFixed(0)).join(', ')})`,
  )
  console.log(
    `bare fastify route         median ${median(base).toFixed(0)} req/s  (${base.map((x) => x.toFixed(0)).join(', ')})`,
  )
  console.log(
    `ratio ${(ratio * 100).toFixed(1)} % of bare; target >= 70 %: ${ratio >= 0.7 ? 'met' : 'NOT met'}`,
  )
} finally {
  for (const c of children) c.kill('SIGTERM')
  rmSync(parent, { recursive: true, force: true })
}
