#!/usr/bin/env node
// Scaffolding speed: `create-service` with every capability (npm install excluded),
// side by side with `npm init -y` (a peer that writes one file) and bare `node -e ''`
// (process start), taking turns N rounds in this run (N odd). Prints medians and ratios.
// Target (issue #2): under 300 ms wall, for a service in memory (what issue #2 measured). A
// service with its own PostgreSQL (the default with a resource) also gets its first migration
// from drizzle-kit, whose API takes about 120 ms to load: it is measured beside, with no target.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alternate, assertFreshBuild, median, rounds, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('scaffold')
const N = rounds('N', 15)
const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
const env = { ...process.env, CI: '1', NO_COLOR: '1' }

const full = (extra) => (dir) =>
  execFileSync(
    'node',
    [
      CREATE,
      'shop',
      '--yes',
      '--service',
      'order',
      '--http',
      '--grpc',
      '--events',
      '--publishes',
      'order.created',
      ...extra,
    ],
    { cwd: dir, env, stdio: 'ignore' },
  )
const variants = {
  'create-service (http,grpc,events)': full(['--store', 'memory']),
  'create-service (... and postgres)': full([]),
  'npm init -y': (dir) => execFileSync('npm', ['init', '-y'], { cwd: dir, env, stdio: 'ignore' }),
  "node -e ''": () => execFileSync('node', ['-e', ''], { env, stdio: 'ignore' }),
}
// they take turns, round after round, in alternating order
const samples = await alternate(N, Object.keys(variants), (name) => {
  const dir = mkdtempSync(join(tmpdir(), 'msvc-bench-'))
  const t0 = process.hrtime.bigint()
  variants[name](dir)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  rmSync(dir, { recursive: true, force: true })
  return ms
})
const rows = Object.fromEntries(
  Object.entries(samples).map(([name, xs]) => [
    name,
    { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) },
  ]),
)
const base = rows['npm init -y'].median
console.log(`scaffold benchmark, N=${N}, node ${process.version}`)
for (const [name, r] of Object.entries(rows))
  console.log(
    `${name.padEnd(36)} median ${r.median.toFixed(0).padStart(5)} ms  (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)})  ${(r.median / base).toFixed(2)} x npm init`,
  )
const ok = rows['create-service (http,grpc,events)'].median < 300
console.log(`target < 300 ms: ${ok ? 'met' : 'NOT met'}`)
