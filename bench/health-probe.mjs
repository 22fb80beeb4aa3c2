#!/usr/bin/env node
// The cost of a service's container health check, which Docker runs every second in every
// service of the stack: the compose file's probe (readyProbe: the age of the ready file the kit
// rewrites) against the peer it replaced, a Node one-liner that fetches /health/ready.
//
// Fair: both probes run in the same container (node:24-slim, the stack's default base), against
// the same process (a Node HTTP server answering /health/ready that also rewrites the ready file
// every 500 ms, as the kit does), the same number of times per round, rounds alternating which goes
// first; the figure is the CPU time (user + system) the probe's processes took, read from the
// parent shell's children times in /proc, median of the rounds.
//   node bench/health-probe.mjs            ROUNDS=3 PROBES=20
//   BENCH_SMOKE=1 node bench/health-probe.mjs
import { execFileSync } from 'node:child_process'
import { register } from 'tsx/esm/api'
import { alternate, fail, median, rounds, setting, smokeBanner } from './lib.mjs'

smokeBanner('health-probe')
register()
const { READY_DIR, READY_FILE, readyProbe, httpProbe } = await import('../src/core/compose/build-stack.ts')

const ROUNDS = rounds()
const PROBES = setting('PROBES', 20, 3)
const NAME = `msvc-bench-health-${process.pid}`
const PORT = 3999

const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8' }).trim()

// the service: /health/ready answers 200, and the ready file (its port) is rewritten every 500 ms
const server = `
const fs = require('node:fs')
require('node:http').createServer((q, s) => s.end('ok')).listen(${PORT}, '127.0.0.1')
setInterval(() => fs.writeFileSync('${READY_FILE}', '${PORT}'), 500)
process.on('SIGTERM', () => process.exit(0))`
const PEERS = {
  // compose writes `$$` for a `$` it must not interpolate; the shell gets one
  'ready file (msvc compose)': readyProbe(PORT).replaceAll('$$', '$'),
  'node fetch of /health/ready (before)': `node -e "${httpProbe(PORT)}"`,
}

/** CPU seconds per run of `probe`, from the children times of the shell that runs it PROBES times. */
function cpuPerProbe(probe) {
  const script = `
i=0; while [ $i -lt ${PROBES} ]; do ${probe} || exit 3; i=$((i+1)); done
awk '{print $16 + $17}' /proc/$$/stat`
  const ticks = Number(docker('exec', NAME, 'sh', '-c', script))
  if (!Number.isFinite(ticks)) fail(`the probe's CPU time could not be read: ${ticks}`)
  return ticks / 100 / PROBES
}

try {
  docker(
    'run',
    '-d',
    '--name',
    NAME,
    '--label',
    'msvc.bench=health-probe',
    '--tmpfs',
    READY_DIR,
    'node:24-slim',
    'node',
    '-e',
    server,
  )
  // both probes must pass before they are measured
  for (let i = 0; ; i++) {
    try {
      for (const probe of Object.values(PEERS)) docker('exec', NAME, 'sh', '-c', probe)
      break
    } catch (e) {
      if (i > 50) fail(`the probes never passed: ${e.message}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const results = await alternate(ROUNDS, Object.keys(PEERS), (name) => cpuPerProbe(PEERS[name]))
  const [ours, peer] = Object.keys(PEERS).map((n) => median(results[n]))
  console.log(`health probe CPU per run, median of ${ROUNDS} round(s) of ${PROBES}:`)
  for (const n of Object.keys(PEERS)) console.log(`  ${n}: ${(median(results[n]) * 1000).toFixed(1)} ms`)
  console.log(
    `  at one probe a second per service: ${(ours * 100).toFixed(2)} % of a core, against ${(peer * 100).toFixed(1)} % (${ours > 0 ? `${(peer / ours).toFixed(0)}x less` : 'too little to time'})`,
  )
} finally {
  try {
    docker('rm', '-f', NAME)
  } catch {
    // already gone
  }
}
