#!/usr/bin/env node
// The course's shop (`create-service --example ecommerce`, issue #20) as a whole, on this machine:
//   1. cold `msvc up` (7 services, order and payment with 2 replicas, 6 PostgreSQL, nats, the
//      dashboard) to all healthy, with its phases (build, image, start, healthy);
//   2. warm `msvc up` with nothing changed, next to `docker-compose up -d` of the same generated
//      file with the stack up (target: msvc at most 1.2 x compose), alternating, median of N;
//   3. `msvc loadtest -f load/shop.yaml` at each of RATES journeys/s (register → log in → browse →
//      order, through the gateway) for SECONDS: errors and each step's p99 (target: 200/s for 60 s,
//      no errors), and the machine's CPU (at rest first, then per journey, from /proc/stat). The
//      shop is the system measured here, so there is no peer: the figures are its own.
// Needs Docker (../shared/ci/docker-env.sh) and the built msvc (npm run build). The shop's gateway
// takes 127.0.0.1:8080 and nats 4222: nothing else may hold them.
//   [N=5] [RATES=200] [SECONDS=60] node bench/example.mjs   (RATES: one run per rate, e.g. 10,20,200)
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import {
  CREATE_BIN,
  SMOKE,
  MSVC_BIN,
  assertFreshBuild,
  benchWorkspace,
  fail,
  measureUp,
  rounds,
  setting,
  smokeBanner,
  tearDown,
} from './lib.mjs'

assertFreshBuild()
smokeBanner('example')
const N = rounds('N', 5)
const RATES = SMOKE ? [5] : (process.env.RATES ?? '200').split(',').map(Number)
if (RATES.some((r) => !(r > 0)))
  fail(`RATES=${process.env.RATES}: expected rates a second, comma-separated (10,20,200)`)
const CORES = availableParallelism()
const SECONDS = setting('SECONDS', 60, 3)
const { parent, name, sh } = benchWorkspace('example')

try {
  sh('node', [CREATE_BIN, name, '--example', 'ecommerce'], parent)
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])

  await measureUp(sh, name, N, 'the shop (7 services, 9 replicas, 6 databases, nats, dashboard)')

  // stock the shop as the README does, then the journeys through the gateway
  const staff = sh('node', [MSVC_BIN, 'token', '--sub', 'staff', '--roles', 'admin']).trim()
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
  // the stack at rest first: what it costs before any journey (health checks, timers)
  const idle = await machineCores(10_000)
  console.log(`the shop at rest: the machine busy ${idle.toFixed(2)} cores (10 s, /proc/stat)`)
  for (const rate of RATES) {
    const before = machineBusy()
    let report
    try {
      report = JSON.parse(
        sh('node', [
          MSVC_BIN,
          'loadtest',
          '-f',
          'load/shop.yaml',
          '--rate',
          String(rate),
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
    const busy = coresSince(before)
    const flow = report.flows[0]
    console.log(
      `load/shop.yaml at ${rate} journeys/s for ${SECONDS} s through the gateway: ${report.requests} requests, errors ${report.errors} (${((100 * report.errors) / Math.max(1, report.requests)).toFixed(2)} %), ` +
        `${flow.completed} of ${flow.iterations} journeys completed (end to end p50 ${flow.latency.p50} ms, p99 ${flow.latency.p99} ms); target 200/s, no errors: ${rate >= 200 && report.errors === 0 ? 'met' : 'NOT met'}`,
    )
    for (const e of report.endpoints)
      console.log(
        `  ${e.name.padEnd(22)} p50 ${String(e.latency.p50).padStart(7)} ms  p99 ${String(e.latency.p99).padStart(7)} ms  errors ${e.errors}`,
      )
    console.log(
      `  the machine busy ${busy.toFixed(2)} of ${CORES} cores; above rest ${((1000 * (busy - idle)) / Math.max(1, flow.completed / SECONDS)).toFixed(0)} ms of CPU per completed journey`,
    )
    console.log(
      `  send lag p99 ${report.sendLag?.p99} ms; generator CPU ${report.generator.cpu} cores${report.generator.saturated ? ' (SATURATED: the figures describe the generator too)' : ''}`,
    )
  }
} finally {
  tearDown(sh, parent)
}

/** The machine's busy and total CPU time so far (/proc/stat, in ticks). */
function machineBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const total = f.reduce((a, b) => a + b, 0)
  return { busy: total - f[3] - f[4], total }
}

/** Cores the machine kept busy since `before` (machineBusy()). */
function coresSince(before) {
  const now = machineBusy()
  return ((now.busy - before.busy) / Math.max(1, now.total - before.total)) * CORES
}

/** Cores the machine keeps busy over the next `ms`. */
async function machineCores(ms) {
  const before = machineBusy()
  await new Promise((r) => setTimeout(r, SMOKE ? 500 : ms))
  return coresSince(before)
}
