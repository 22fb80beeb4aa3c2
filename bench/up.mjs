#!/usr/bin/env node
// `msvc up` speed on a generated workspace of three services (one with events), all measured
// in this run on this machine:
//   1. cold up (nothing built, no containers) to all healthy, with its phases (build, image, start, healthy)
//   2. warm up with nothing changed, next to a plain `docker-compose up -d` of the same generated
//      file with the stack already up (target: msvc at most 1.2 x compose)
//   3. a one-line change in one service, then up: time until that service is healthy again (target < 10 s)
// Needs Docker (../shared/ci/docker-env.sh) and the built msvc (npm run build).
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { alternate, assertFreshBuild, median, rounds, smokeBanner } from './lib.mjs'

const MSVC = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
assertFreshBuild()
smokeBanner('up')
const N = rounds('N', 5)
const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-up-'))
const ws = join(parent, 'shop')
const name = `bench-${randomBytes(3).toString('hex')}`
const sh = (cmd, args, cwd = ws) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const timed = (fn) => {
  const t0 = process.hrtime.bigint()
  const out = fn()
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out }
}

try {
  sh(
    'node',
    [
      CREATE,
      'shop',
      '--name',
      name,
      '--yes',
      '--service',
      'order',
      '--http',
      '--events',
      '--publishes',
      'order.created',
      // in memory: the stack's start is what is measured, not PostgreSQL's (bench/store.mjs has it)
      '--store',
      'memory',
    ],
    parent,
  )
  sh('node', [MSVC, 'add', 'payment', '--http', '--store', 'memory'])
  sh('node', [MSVC, 'add', 'gateway-api', '--http', '--calls', 'order,payment', '--store', 'memory'])
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])

  const cold = timed(() => JSON.parse(sh('node', [MSVC, 'up', '--json'])))
  console.log(`cold up (3 services + nats) to all healthy: ${(cold.ms / 1000).toFixed(2)} s wall`)
  console.log(`  phases (ms): ${JSON.stringify(cold.out.timingsMs)}`)

  const commands = {
    msvc: () => sh('node', [MSVC, 'up', '--json']),
    compose: () => sh('docker-compose', ['-p', name, '-f', 'docker-compose.yml', 'up', '-d', '--no-build']),
  }
  const runs = await alternate(N, Object.keys(commands), (which) => timed(commands[which]).ms)
  const w = median(runs.msvc)
  const c = median(runs.compose)
  console.log(
    `warm up, nothing changed (median of ${N}): msvc ${w.toFixed(0)} ms, docker-compose up -d ${c.toFixed(0)} ms, ratio ${(w / c).toFixed(2)} x (target <= 1.2 x)`,
  )

  appendFileSync(join(ws, 'services/payment/src/main.ts'), "\nprocess.env.BENCH_REVISION = '2'\n")
  const change = timed(() => JSON.parse(sh('node', [MSVC, 'up', '--json'])))
  console.log(
    `one-line change in payment, up until healthy again: ${(change.ms / 1000).toFixed(2)} s (rebuilt: ${change.out.built.join(',')}; target < 10 s)`,
  )
} finally {
  try {
    sh('node', [MSVC, 'down', '--volumes'])
  } catch {
    // best effort: the stack may not have come up
  }
  rmSync(parent, { recursive: true, force: true })
}
