#!/usr/bin/env node
// The course's shop (`create-service --example ecommerce`, issue #20) as a whole, on this machine:
//   1. cold `msvc up` (7 services, order and payment with 2 replicas, 6 PostgreSQL, nats, the
//      dashboard) to all healthy, with its phases (build, image, start, healthy);
//   2. warm `msvc up` with nothing changed, next to `docker-compose up -d` of the same generated
//      file with the stack up (target: msvc at most 1.2 x compose), alternating, median of N;
//   3. `msvc loadtest -f load/shop.yaml` at RATE journeys/s (register → log in → browse → order,
//      through the gateway) for SECONDS: errors and each step's p99 (target: 200/s for 60 s, no
//      errors). The shop is the system measured here, so there is no peer: the figures are its own.
// Needs Docker (../shared/ci/docker-env.sh) and the built msvc (npm run build). The shop's gateway
// takes 127.0.0.1:8080 and nats 4222: nothing else may hold them.
//   [N=5] [RATE=200] [SECONDS=60] node bench/example.mjs
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { alternate, assertFreshBuild, median, rounds, setting, smokeBanner } from './lib.mjs'

const MSVC = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
assertFreshBuild()
smokeBanner('example')
const N = rounds('N', 5)
const RATE = setting('RATE', 200, 5)
const SECONDS = setting('SECONDS', 60, 3)
const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-example-'))
const name = `bench-${randomBytes(3).toString('hex')}`
const ws = join(parent, name)
const sh = (cmd, args, cwd = ws, extra = {}) =>
  execFileSync(cmd, args, {
    cwd,
    env: { ...env, ...extra },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
const timed = (fn) => {
  const t0 = process.hrtime.bigint()
  const out = fn()
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out }
}

try {
  sh('node', [CREATE, name, '--example', 'ecommerce'], parent)
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])

  const cold = timed(() => JSON.parse(sh('node', [MSVC, 'up', '--json'])))
  console.log(
    `cold up of the shop (7 services, 9 replicas, 6 databases, nats, dashboard) to all healthy: ${(cold.ms / 1000).toFixed(2)} s wall`,
  )
  console.log(`  phases (ms): ${JSON.stringify(cold.out.timingsMs)}`)

  const commands = {
    msvc: () => sh('node', [MSVC, 'up', '--json']),
    compose: () => sh('docker-compose', ['-p', name, '-f', 'docker-compose.yml', 'up', '-d', '--no-build']),
  }
  const runs = await alternate(N, Object.keys(commands), (which) => timed(commands[which]).ms)
  const w = median(runs.msvc)
  const c = median(runs.compose)
  console.log(
    `warm up, nothing changed (median of ${N}, alternating): msvc ${w.toFixed(0)} ms, docker-compose up -d ${c.toFixed(0)} ms, ratio ${(w / c).toFixed(2)} x (target <= 1.2 x: ${w / c <= 1.2 ? 'met' : 'NOT met'})`,
  )
  console.log(
    `  rounds (ms): msvc [${runs.msvc.map(Math.round).join(', ')}], compose [${runs.compose.map(Math.round).join(', ')}]`,
  )

  // stock the shop as the README does, then the journeys through the gateway
  const staff = sh('node', [MSVC, 'token', '--sub', 'staff', '--roles', 'admin']).trim()
  const post = async (path, body) => {
    const r = await fetch(`http://127.0.0.1:8080${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`)
  }
  await post('/api/products', { sku: 'MUG-1', name: 'Mug', price: 12.5, category: 'kitchen' })
  await post('/api/inventories', { sku: 'MUG-1', stock: 10_000_000 })
  let report
  try {
    report = JSON.parse(
      sh('node', [
        MSVC,
        'loadtest',
        '-f',
        'load/shop.yaml',
        '--rate',
        String(RATE),
        '-d',
        `${SECONDS}s`,
        '--json',
      ]),
    )
  } catch (e) {
    // a breached threshold (exit 2) still prints its report
    if (e.status !== 2) throw e
    report = JSON.parse(e.stdout)
  }
  const flow = report.flows[0]
  console.log(
    `load/shop.yaml at ${RATE} journeys/s for ${SECONDS} s through the gateway: ${report.requests} requests, errors ${report.errors} (${((100 * report.errors) / Math.max(1, report.requests)).toFixed(2)} %), ` +
      `${flow.completed} of ${flow.iterations} journeys completed (end to end p50 ${flow.latency.p50} ms, p99 ${flow.latency.p99} ms); target no errors: ${report.errors === 0 ? 'met' : 'NOT met'}`,
  )
  for (const e of report.endpoints)
    console.log(
      `  ${e.name.padEnd(22)} p50 ${String(e.latency.p50).padStart(7)} ms  p99 ${String(e.latency.p99).padStart(7)} ms  errors ${e.errors}`,
    )
  console.log(
    `  send lag p99 ${report.sendLag?.p99} ms; generator CPU ${report.generator.cpu} cores${report.generator.saturated ? ' (SATURATED: the figures describe the generator too)' : ''}`,
  )
} finally {
  try {
    sh('node', [MSVC, 'down', '--volumes'])
  } catch {
    // best effort: the stack may not have come up
  }
  rmSync(parent, { recursive: true, force: true })
}
