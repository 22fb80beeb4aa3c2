#!/usr/bin/env node
// `msvc sync` on a workspace of six services with nothing to change (every service's files
// rendered and compared, the postgres services' tables diffed by drizzle-kit, compose and the
// clients checked), beside `msvc ls` (the same process start and msvc.yaml read, nothing else),
// taking turns N rounds (N odd). Target (issue #15): under 1 s. Measured twice: with the records
// the last sync wrote beside the migrations and the clients (committed, so a fresh clone has them
// too; they let it skip drizzle-kit and protoc), and with none (no sync ran since create).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alternate, assertFreshBuild, median, rounds, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('sync')
const N = rounds('N', 7)
const REPO = fileURLToPath(new URL('..', import.meta.url))
const MSVC = join(REPO, 'bin/msvc.js')
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-sync-'))
const ws = join(parent, 'shop')
try {
  const sh = (args, cwd = ws) => execFileSync('node', args, { cwd, env, stdio: 'ignore' })
  sh(
    [
      join(REPO, 'bin/create-service.js'),
      'shop',
      '--yes',
      '--service',
      'order',
      '--http',
      '--grpc',
      '--events',
      '--publishes',
      'order.created',
      '--fields',
      'items:{sku:string!,quantity:integer!}[]!,total:number=0',
      '--operations',
      'confirm()~,cancel(reason:string)',
    ],
    parent,
  )
  sh([
    MSVC,
    'add',
    'inventory',
    '--http',
    '--grpc',
    '--events',
    '--subscribes',
    'order.created',
    '--fields',
    'sku:string!,quantity:integer!,reserved:integer=0',
    '--operations',
    'reserve(sku:string!,quantity:integer!)',
  ])
  sh([
    MSVC,
    'add',
    'payment',
    '--http',
    '--events',
    '--publishes',
    'payment.processed',
    '--subscribes',
    'order.created',
  ])
  sh([MSVC, 'add', 'catalog', '--http', '--store', 'memory'])
  sh([MSVC, 'add', 'ledger', '--grpc', '--store', 'memory'])
  sh([MSVC, 'add', 'notifier', '--events', '--subscribes', 'payment.processed'])
  sh([MSVC, 'compose'])
  const ms = (args) => {
    const t0 = process.hrtime.bigint()
    execFileSync('node', [MSVC, ...args], { cwd: ws, env, stdio: 'ignore' })
    return Number(process.hrtime.bigint() - t0) / 1e6
  }
  const check = execFileSync('node', [MSVC, 'sync', '--check'], {
    cwd: ws,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  void check
  ms(['sync']) // warm the file cache
  // cold: sync's records of its last run removed first, as before any sync (right after create)
  const records = [
    'packages/clients/msvc-sync.json',
    ...['order', 'inventory', 'payment'].map((svc) => `services/${svc}/drizzle/meta/msvc-sync.json`),
  ]
  const samples = await alternate(N, ['msvc sync', 'msvc sync cold', 'msvc ls'], (name) => {
    if (name === 'msvc sync cold') for (const r of records) rmSync(join(ws, r), { force: true })
    const took = ms(name === 'msvc ls' ? ['ls'] : ['sync'])
    if (name === 'msvc sync cold') ms(['sync']) // remembered again for the warm runs
    return took
  })
  const sync = median(samples['msvc sync'])
  const ls = median(samples['msvc ls'])
  console.log(
    `sync benchmark: 6 services (3 postgres, 2 grpc, 4 with events), nothing to change, N=${N}, node ${process.version}`,
  )
  console.log(
    `msvc sync  median ${sync.toFixed(0)} ms  (${samples['msvc sync'].map((x) => x.toFixed(0)).join(', ')})`,
  )
  const cold = median(samples['msvc sync cold'])
  console.log(
    `msvc sync, no record of a last sync  median ${cold.toFixed(0)} ms  (${samples['msvc sync cold'].map((x) => x.toFixed(0)).join(', ')})`,
  )
  console.log(
    `msvc ls    median ${ls.toFixed(0)} ms  (${samples['msvc ls'].map((x) => x.toFixed(0)).join(', ')}): sync is ${(sync / ls).toFixed(1)} x`,
  )
  console.log(
    `target < 1000 ms: ${sync < 1000 ? 'met' : 'NOT met'} (after a sync, in a clone too: the records are committed); ${cold < 1000 ? 'met' : 'NOT met'} (no record)`,
  )
} finally {
  rmSync(parent, { recursive: true, force: true })
}
