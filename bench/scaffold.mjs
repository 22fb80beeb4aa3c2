#!/usr/bin/env node
// Scaffolding speed: `create-service` with every capability (npm install excluded),
// side by side with `npm init -y` (a peer that writes one file) and bare `node -e ''`
// (process start), each measured N times in this run. Prints medians and ratios.
// Target (issue #2): under 300 ms wall.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const N = Number(process.env.N ?? 15)
const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
const env = { ...process.env, CI: '1', NO_COLOR: '1' }

function time(fn) {
  const samples = []
  for (let i = 0; i < N; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'msvc-bench-'))
    const t0 = process.hrtime.bigint()
    fn(dir)
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
    rmSync(dir, { recursive: true, force: true })
  }
  samples.sort((a, b) => a - b)
  return { median: samples[Math.floor(N / 2)], min: samples[0], max: samples.at(-1) }
}

const rows = {
  'create-service (http,grpc,events)': time((dir) =>
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
      ],
      { cwd: dir, env, stdio: 'ignore' },
    ),
  ),
  'npm init -y': time((dir) => execFileSync('npm', ['init', '-y'], { cwd: dir, env, stdio: 'ignore' })),
  "node -e ''": time(() => execFileSync('node', ['-e', ''], { env, stdio: 'ignore' })),
}
const base = rows['npm init -y'].median
console.log(`scaffold benchmark, N=${N}, node ${process.version}`)
for (const [name, r] of Object.entries(rows))
  console.log(
    `${name.padEnd(36)} median ${r.median.toFixed(0).padStart(5)} ms  (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)})  ${(r.median / base).toFixed(2)} x npm init`,
  )
const ok = rows['create-service (http,grpc,events)'].median < 300
console.log(`target < 300 ms: ${ok ? 'met' : 'NOT met'}`)
