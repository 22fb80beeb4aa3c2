#!/usr/bin/env node
// `msvc up` speed on a generated workspace of three services (one with events), all measured
// in this run on this machine:
//   1. cold up (nothing built, no containers) to all healthy, with its phases (build, image, start, healthy)
//   2. warm up with nothing changed, next to a plain `docker-compose up -d` of the same generated
//      file with the stack already up (target: msvc at most 1.2 x compose)
//   3. a one-line change in one service, then up: time until that service is healthy again (target < 10 s)
// Needs Docker (../shared/ci/docker-env.sh) and the built msvc (npm run build).
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CREATE_BIN,
  MSVC_BIN,
  assertFreshBuild,
  benchWorkspace,
  measureUp,
  rounds,
  timed,
  smokeBanner,
  tearDown,
} from './lib.mjs'

assertFreshBuild()
smokeBanner('up')
const N = rounds('N', 5)
const { parent, name, ws, sh } = benchWorkspace('up', 'shop')

try {
  sh(
    'node',
    [
      CREATE_BIN,
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
  sh('node', [MSVC_BIN, 'add', 'payment', '--http', '--store', 'memory'])
  sh('node', [MSVC_BIN, 'add', 'gateway-api', '--http', '--calls', 'order,payment', '--store', 'memory'])
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])

  await measureUp(sh, name, N, 'the workspace (3 services + nats)')

  appendFileSync(join(ws, 'services/payment/src/main.ts'), "\nprocess.env.BENCH_REVISION = '2'\n")
  const change = timed(() => JSON.parse(sh('node', [MSVC_BIN, 'up', '--json'])))
  console.log(
    `one-line change in payment, up until healthy again: ${(change.ms / 1000).toFixed(2)} s (rebuilt: ${change.out.built.join(',')}; target < 10 s)`,
  )
} finally {
  tearDown(sh, parent)
}
