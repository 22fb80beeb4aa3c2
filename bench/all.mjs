#!/usr/bin/env node
// Runs the benchmarks one after the other (all of them, or those named), each in its own process,
// and exits 1 if any failed. `npm run bench` runs them in full from a fresh build; `npm run
// bench:smoke` (BENCH_SMOKE=1, which CI runs) gives each the least work that runs every path.
//   node bench/all.mjs [name ...]     names: the files under bench/ without .mjs
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ALL = [
  'scaffold',
  'service',
  'store',
  'sync',
  'proto',
  'events',
  'loadtest',
  'loadtest-grpc',
  'up',
  'chaos-timing',
  'gateway',
  'otlp-receiver',
  'tracing',
  'dashboard',
  'health-probe',
  'saga',
  'example',
]
const chosen = process.argv.slice(2)
const unknown = chosen.filter((n) => !ALL.includes(n))
if (unknown.length) {
  console.error(`bench: no benchmark named ${unknown.join(', ')} (there are: ${ALL.join(', ')})`)
  process.exit(1)
}
const failed = []
for (const name of chosen.length ? chosen : ALL) {
  console.log(`\n=== bench/${name}.mjs`)
  const t0 = Date.now()
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(`${name}.mjs`, import.meta.url))], {
    stdio: 'inherit',
  })
  const code = r.status ?? r.signal
  console.log(
    `=== bench/${name}.mjs: ${code === 0 ? 'done' : `FAILED (${code})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  )
  if (code !== 0) failed.push(name)
}
if (failed.length) {
  console.error(`bench: ${failed.join(', ')} failed`)
  process.exit(1)
}
