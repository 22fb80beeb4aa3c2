#!/usr/bin/env node
// Runs the benchmarks one after the other (all of them, or those named), each in its own process,
// and exits 1 if any failed. `npm run bench` runs them in full from a fresh build; `npm run
// bench:smoke` (BENCH_SMOKE=1, which CI runs) gives each the least work that runs every path, in
// two lanes at once (see SECOND_LANE).
//   node bench/all.mjs [name ...]     names: the files under bench/ without .mjs
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SMOKE } from './lib.mjs'

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
]
const chosen = process.argv.slice(2)
const unknown = chosen.filter((n) => !ALL.includes(n))
if (unknown.length) {
  console.error(`bench: no benchmark named ${unknown.join(', ')} (there are: ${ALL.join(', ')})`)
  process.exit(1)
}
/**
 * Smoke mode runs in two lanes at once (its figures mean nothing, so sharing the machine costs
 * nothing but time, and CI saves half of it). The second lane holds every bench that starts Docker
 * containers or listens on fixed ports (store and gateway share 3201-3202): those run one after the
 * other. A new bench with Docker or a fixed port belongs in it.
 */
const SECOND_LANE = ['store', 'up', 'chaos-timing', 'gateway']

/** Runs one bench; its output is printed at once, or (in a lane beside another) when it ends. */
function runBench(name, buffered) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const out = []
    const child = spawn(process.execPath, [fileURLToPath(new URL(`${name}.mjs`, import.meta.url))], {
      stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    })
    if (buffered) {
      child.stdout.on('data', (d) => out.push(d))
      child.stderr.on('data', (d) => out.push(d))
    }
    child.on('close', (status, signal) => {
      const code = status ?? signal
      const tail = `=== bench/${name}.mjs: ${code === 0 ? 'done' : `FAILED (${code})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`
      if (buffered) process.stdout.write(`${head(name)}\n${Buffer.concat(out).toString()}${tail}\n`)
      else console.log(tail)
      resolve(code === 0)
    })
    if (!buffered) console.log(head(name))
  })
}
const head = (name) => `\n=== bench/${name}.mjs`

const names = chosen.length ? chosen : ALL
const failed = []
const runLane = async (lane, buffered) => {
  for (const name of lane) if (!(await runBench(name, buffered))) failed.push(name)
}
if (SMOKE) {
  const second = names.filter((n) => SECOND_LANE.includes(n))
  const first = names.filter((n) => !SECOND_LANE.includes(n))
  await Promise.all([runLane(first, true), runLane(second, true)])
} else await runLane(names, false)
if (failed.length) {
  console.error(`bench: ${failed.join(', ')} failed`)
  process.exit(1)
}
