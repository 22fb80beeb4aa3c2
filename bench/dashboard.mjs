#!/usr/bin/env node
// The dashboard's cost and speed (issue #18), against a real engine: three labelled containers on
// a network of their own (test/helpers/chaos-stack.ts, each a small HTTP service) and `msvc dashboard` started by the built bin.
//  - CPU added to an idle stack. The peer is the same stack with no dashboard: rounds alternate
//    "without" and "with"; each measures, over IDLE_SECONDS, the CPU the stack's containers used
//    (the engine's own count, health checks included) and, with the dashboard, its process's CPU
//    (/proc/<pid>/stat). Added = (stack + dashboard) with it − stack without it, as a share of the
//    machine (its cores) and of one core. Nobody watches (no page, no API call for 12 s: it polls
//    every 5 s then); a page that watches is measured too, in the "with" rounds. Target: under 3 %
//    of the machine, nobody watching.
//  - A span visible in the UI after export. A chromium page (playwright-core, Debian's chromium)
//    shows the traces list; the clock starts before the OpenTelemetry SDK's own exporter sends a
//    trace of five spans and stops when the page shows its row. Target: under 1 s, every time.
// Usage: npm run build && node bench/dashboard.mjs   (env: ROUNDS, IDLE_SECONDS, TRACES,
// MSVC_CHROMIUM=/usr/bin/chromium). Linux only (/proc).
import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import Docker from 'dockerode'
import { chromium } from 'playwright-core'
import { register } from 'tsx/esm/api'
import { alternate, assertFreshBuild, fail, median, rounds, setting, smokeBanner, SMOKE } from './lib.mjs'

assertFreshBuild()
smokeBanner('dashboard')
const ROUNDS = rounds()
const IDLE_MS = setting('IDLE_SECONDS', 20, 2) * 1000
const TRACES = setting('TRACES', 15, 2)
// the dashboard slows to a poll every 5 s once nobody has watched for 10 s
const QUIET_MS = SMOKE ? 1000 : 12_000
const CHROMIUM = process.env.MSVC_CHROMIUM ?? '/usr/bin/chromium'
const CORES = availableParallelism()
if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}: apt-get install chromium (or set MSVC_CHROMIUM)`)

// the test helpers are TypeScript: tsx loads them, so that the bench's stack is the tests' stack
register()
const { startChaosStack } = await import('../test/helpers/chaos-stack.ts')
const { exportCheckoutTrace } = await import('../test/helpers/dashboard.ts')
const { freePort } = await import('../test/helpers/net.ts')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const docker = new Docker()
// no health checks: each starts a node process in its container (~200 ms of CPU here, three a
// second), which would drown what the dashboard adds in noise; a running container without one is
// up to the dashboard, which probes /health/ready itself
const stack = await startChaosStack(['alpha', 'beta', 'gamma'], { healthCheck: false })
let dashboard
try {
  const ids = Object.values(stack.services).map((s) => s.container)
  /** CPU time the stack's containers used so far, in ms (the engine's cgroup count, in ns). */
  const stackCpuMs = async () => {
    let ns = 0
    for (const id of ids) {
      const s = await docker.getContainer(id).stats({ stream: false, 'one-shot': true })
      ns += Number(s.cpu_stats?.cpu_usage?.total_usage ?? NaN)
    }
    if (!Number.isFinite(ns)) fail('the engine gave no cpu_stats for the stack')
    return ns / 1e6
  }
  /** utime + stime of a process, in ms (clock ticks of 10 ms) */
  const processCpuMs = (pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  }
  const startDashboard = async () => {
    const r = await stack.msvc([
      'dashboard',
      '--port',
      '0',
      '--otlp-port',
      String(await freePort()),
      '--json',
    ])
    if (r.exitCode !== 0) fail(`msvc dashboard failed: ${r.stderr.trim()}`)
    return JSON.parse(r.stdout)
  }
  const stopDashboard = async () => {
    const r = await stack.msvc(['dashboard', '--stop'])
    if (r.exitCode !== 0) fail(`msvc dashboard --stop failed: ${r.stderr.trim()}`)
  }
  /** CPU over IDLE_MS: the stack's, and the dashboard process's when pid is given; ms per s */
  const window = async (pid) => {
    const s0 = await stackCpuMs()
    const d0 = pid ? processCpuMs(pid) : 0
    const t0 = Date.now()
    await sleep(IDLE_MS)
    const s1 = await stackCpuMs()
    const d1 = pid ? processCpuMs(pid) : 0
    const sec = (Date.now() - t0) / 1000
    return { stack: (s1 - s0) / sec, dashboard: (d1 - d0) / sec }
  }

  const idle = await alternate(ROUNDS, ['without', 'with'], async (name) => {
    if (name === 'without') {
      await sleep(2000)
      return { quiet: await window() }
    }
    dashboard = await startDashboard()
    await sleep(QUIET_MS)
    const quiet = await window(dashboard.pid)
    // and watched: a page open on the graph, which updates by server-sent events
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    const page = await browser.newPage()
    await page.goto(dashboard.url)
    await page.locator('[data-service="alpha"]').waitFor({ timeout: 10_000 })
    const watched = await window(dashboard.pid)
    await browser.close()
    await stopDashboard()
    dashboard = undefined
    return { quiet, watched }
  })

  // visible after export
  dashboard = await startDashboard()
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  const page = await browser.newPage()
  await page.goto(dashboard.url)
  await page.locator('[data-tab="traces"]').click()
  const otlp = `http://127.0.0.1:${dashboard.otlpPort}`
  const visible = []
  for (let i = 0; i < TRACES; i++) {
    const t0 = performance.now()
    const id = await exportCheckoutTrace(otlp)
    await page.locator(`[data-trace="${id}"]`).waitFor({ timeout: 10_000 })
    visible.push(performance.now() - t0)
    await sleep(300)
  }
  await browser.close()
  await stopDashboard()
  dashboard = undefined

  const without = median(idle.without.map((r) => r.quiet.stack))
  const withStack = median(idle.with.map((r) => r.quiet.stack))
  const withDash = median(idle.with.map((r) => r.quiet.dashboard))
  const added = median(
    idle.with.map((r, i) => r.quiet.stack + r.quiet.dashboard - idle.without[i].quiet.stack),
  )
  const watchedAdded = median(
    idle.with.map((r, i) => r.watched.stack + r.watched.dashboard - idle.without[i].quiet.stack),
  )
  const pct = (msPerS) =>
    `${(msPerS / 10 / CORES).toFixed(2)} % of the machine (${(msPerS / 10).toFixed(2)} % of a core)`
  const list = (xs) => `[${xs.map((x) => x.toFixed(1)).join(', ')}]`
  console.log(
    `idle stack of 3 services, ${IDLE_MS / 1000} s windows, ${CORES} cores; median of ${ROUNDS} alternating rounds (ms of CPU a second):`,
  )
  console.log(
    `  stack without the dashboard   ${without.toFixed(1)} ms/s   ${list(idle.without.map((r) => r.quiet.stack))}`,
  )
  console.log(
    `  stack with it, nobody watching ${withStack.toFixed(1)} ms/s, the dashboard itself ${withDash.toFixed(1)} ms/s`,
  )
  console.log(
    `  added, nobody watching: ${pct(added)}   target < 3 % of the machine: ${added / 10 / CORES < 3 ? 'met' : 'NOT met'}`,
  )
  console.log(`  added, a page watching: ${pct(watchedAdded)}`)
  const worst = Math.max(...visible)
  console.log(
    `a trace visible in the page after export: median ${median(visible).toFixed(0)} ms, max ${worst.toFixed(0)} ms over ${TRACES}   target < 1000 ms: ${worst < 1000 ? 'met' : 'NOT met'}`,
  )
} finally {
  if (dashboard) await stack.msvc(['dashboard', '--stop'])
  await stack.teardown()
}
