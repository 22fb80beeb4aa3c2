#!/usr/bin/env node
// Sagas generated into the services (issue #17, "Performance"), against a real stack: the saga shop
// of test/fixtures/sagas (test/helpers/saga-workspace.ts: order owns place-order = reserve stock in
// inventory over gRPC, charge in payment over HTTP, confirm in process), its three services bundled
// and run as `node dist/main.js`, as their images run them, on one labelled postgres:15 container.
//  - Overhead. req/s of POST /orders running the saga (the order and its saga written in one
//    transaction, every attempt recorded, the answer once the saga ended), against a bare peer.
//    Fair: the peer, bench/saga-bare.ts, is order's own code with the saga taken out. The bench
//    copies it into the generated order service and bundles it with the service's own esbuild
//    options, so it runs as the owner runs (`node dist/bench-bare.js`, a second process, order's
//    environment, order's database, on the host beside the owner); its POST /orders, behind the
//    kit's HTTP server like the owner's, creates the order with the generated repository, makes the
//    same three calls in sequence with the clients the generated code builds (inventory's
//    ReserveInventory over gRPC, payment's POST /payments/charge over HTTP, each with an
//    idempotency key as a step's, so that the callees do the same work), confirms in process, and
//    answers 201. What it leaves out is what is measured: no saga row, no step records, no lease, no
//    wait for the runner, no compensation. A second bare peer sends no keys ("bare, no keys"),
//    whose ratio is the stricter one: the callees then skip their key table too.
//    Same callees, same PostgreSQL, same load generator (msvc loadtest, a separate process), same
//    scenario and connections; the owner and the peers all stay up through every round (one idles
//    while another is measured). Load model: closed, the same fixed concurrency for all (msvc
//    loadtest -c). The open model above capacity measures the queue, not the server: the saga's
//    POST waits at most 2 s for its end and then answers 202, so an overloaded open run would
//    compare timeouts. Only 201s count. Each product of 1,000 is picked at random per request, so
//    that concurrent reserves seldom queue on one row (they take it FOR UPDATE, in turn), on every
//    side alike. Target: saga ≥ 40 % of bare, on the medians of ROUNDS rounds whose order
//    alternates (saga, bare, bare-nokeys, then reversed, ...). CPU per 201 of each process (and
//    PostgreSQL's container) is printed too: where the saga's cost goes.
//  - Latency. p50/p99 of POST /orders at 100 sagas/s, open model (msvc loadtest --rate 100); when
//    that is above what the saga sustains here (the closed runs above), at half of that rate too.
//    Every run starts with no saga running (an overloaded run leaves some behind).
//  - Crash recovery. payment is SIGSTOPped (its calls hang), INFLIGHT orders are posted (each saga
//    stays running), order is SIGKILLed, payment SIGCONTed (so that what is measured is order's
//    recovery, not payment's 3 s timeout over and over), and order started again. "Resumed": a saga
//    that was not final at the kill has an attempt (a saga_steps row) started after the new
//    process was spawned. Measured from that spawn: ready, its first attempt, every saga resumed,
//    and all of them ended (final, or stuck: a compensation that kept failing); how they ended is
//    printed, and the gap from the kill to the spawn beside them. order runs
//    with a fixed runner id (SAGA_RUNNER, as compose names it by its container), so the new process
//    takes its sagas back at once rather than once the dead one's heartbeat is stale (2 s). The
//    bound left is the orchestrator's: a runner drives at most maxInFlight (64) sagas at once, a
//    slot freeing when one ends, so the last of 1,000 starts after ~936 others ended. Target:
//    under 2 s for 1,000.
// The machine's 2 cores are shared by the three services, the peers, PostgreSQL and the load
// generator (no pinning): read the ratio, and the load average noted beside it.
// Needs Docker (postgres:15 image); its container is labelled msvc.bench=saga and removed at the
// end, on a failure or Ctrl-C too.
//   npm run build && node bench/saga.mjs      (env: ROUNDS=3, SECONDS=10, CONNECTIONS=32, INFLIGHT=1000)
//   BENCH_SMOKE=1 node bench/saga.mjs
import { execFile, execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { register } from 'tsx/esm/api'
import {
  alternate,
  assertFreshBuild,
  fail,
  median,
  rounds,
  setting,
  smokeBanner,
  SMOKE,
  startPostgres,
} from './lib.mjs'

assertFreshBuild()
smokeBanner('saga')
const ROUNDS = rounds()
const SECONDS = setting('SECONDS', 10, 2)
const CONNECTIONS = setting('CONNECTIONS', 32, 8)
const INFLIGHT = setting('INFLIGHT', 1000, 50)
const LATENCY_RATE = 100
const PRODUCTS = 1000
const MSVC = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
const BARE = fileURLToPath(new URL('saga-bare.ts', import.meta.url))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
try {
  execFileSync('docker', ['info'], { stdio: 'ignore' })
} catch {
  fail('bench/saga.mjs needs a Docker engine (docker info failed)')
}

register()
const { generateSagaShop, runIn } = await import('../test/helpers/saga-workspace.ts')
const { freePort, waitForHttp } = await import('../test/helpers/net.ts')

const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-saga-'))
const container = `msvc-bench-saga-${process.pid}`
const procs = new Map()
let pool
/** Ctrl-C or a kill: the processes and the container go too (the finally does not run then). */
const cleanupNow = () => {
  procs.get('payment')?.kill('SIGCONT')
  for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  try {
    execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' })
  } catch {
    // not started
  }
  rmSync(parent, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    console.error(`bench: ${signal}: stopping, removing ${container}`)
    cleanupNow()
    process.exit(130)
  })
/** Inside the run: ends it through the finally (fail() would exit before the cleanup). */
const stop = (message) => {
  throw Object.assign(new Error(message), { bench: true })
}
try {
  console.log('generating the saga shop and bundling its services ...')
  const ws = await generateSagaShop(parent)
  for (const s of ['order', 'inventory', 'payment'])
    await runIn(join(ws, 'services', s), 'npm', ['run', 'bundle'])
  // the bare peer: type-checked with order's sources, bundled with the options of order's own
  // bundle (scripts/build-service.mjs, its entry and output renamed), beside dist/main.js
  const orderDir = join(ws, 'services', 'order')
  copyFileSync(BARE, join(orderDir, 'src', 'bench-bare.ts'))
  await runIn(orderDir, 'npm', ['run', 'typecheck'])
  let bundler = readFileSync(join(ws, 'scripts', 'build-service.mjs'), 'utf8')
  for (const [from, to] of [
    ["entryPoints: ['src/main.ts']", "entryPoints: ['src/bench-bare.ts']"],
    ["outfile: 'dist/main.js'", "outfile: 'dist/bench-bare.js'"],
    ["await rm('dist', { recursive: true, force: true })", ''],
  ]) {
    if (!bundler.includes(from)) stop(`scripts/build-service.mjs has no ${from}: update bench/saga.mjs`)
    bundler = bundler.replace(from, to)
  }
  writeFileSync(join(ws, 'scripts', 'bench-bare-build.mjs'), bundler)
  await runIn(orderDir, process.execPath, ['../../scripts/bench-bare-build.mjs'])

  // PostgreSQL 15, labelled, removed in the finally
  const pgPort = await freePort()
  const url = await startPostgres({
    name: container,
    label: 'msvc.bench=saga',
    port: pgPort,
    databases: ['orders', 'inventory', 'payment'],
  }).catch((e) => stop(e.message))
  const [order, inventory, payment, orderGrpc, inventoryGrpc, bare, bareNoKeys] = await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  )
  const envOf = {
    inventory: { DATABASE_URL: url('inventory'), PORT: String(inventory), GRPC_PORT: String(inventoryGrpc) },
    payment: { DATABASE_URL: url('payment'), PORT: String(payment) },
    order: {
      DATABASE_URL: url('orders'),
      PORT: String(order),
      GRPC_PORT: String(orderGrpc),
      INVENTORY_URL: `http://127.0.0.1:${inventory}`,
      INVENTORY_GRPC_ADDRESS: `127.0.0.1:${inventoryGrpc}`,
      PAYMENT_URL: `http://127.0.0.1:${payment}`,
      // one order process at a time, as one container: a fixed runner id, as compose's hostname is
      SAGA_RUNNER: 'bench-order',
    },
  }
  // the peers: order's environment but for the port (no gRPC server of their own) and the runner
  envOf.bare = { ...envOf.order, PORT: String(bare), SAGA_RUNNER: '' }
  envOf['bare-nokeys'] = { ...envOf.order, PORT: String(bareNoKeys), BARE_KEYS: '0', SAGA_RUNNER: '' }
  const mainOf = { bare: 'bench-bare.js', 'bare-nokeys': 'bench-bare.js' }
  const dirOf = { bare: 'order', 'bare-nokeys': 'order' }
  const start = (name) => {
    const child = spawn(process.execPath, [`dist/${mainOf[name] ?? 'main.js'}`], {
      cwd: join(ws, 'services', dirOf[name] ?? name),
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...envOf[name] },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    procs.set(name, child)
    return child
  }
  const portOf = { inventory, payment, order, bare, 'bare-nokeys': bareNoKeys }
  // order first: it migrates its database, which the peers then find migrated
  for (const s of ['inventory', 'payment', 'order']) start(s)
  for (const s of ['inventory', 'payment', 'order'])
    await waitForHttp(`http://127.0.0.1:${portOf[s]}/health/ready`, 30_000)
  for (const s of ['bare', 'bare-nokeys']) start(s)
  for (const s of ['bare', 'bare-nokeys'])
    await waitForHttp(`http://127.0.0.1:${portOf[s]}/health/ready`, 30_000)

  // pg, the clients and the kit from the workspace (its own versions)
  const wsRequire = createRequire(join(ws, 'package.json'))
  const pg = wsRequire('pg')
  pool = new pg.Pool({ connectionString: url('orders'), max: 2 })
  const inventoryDb = new pg.Client({ connectionString: url('inventory') })
  await inventoryDb.connect()
  await inventoryDb.query(
    `insert into inventories (id, sku, stock, reserved, version, created_at, updated_at)
     select 'item-' || g, 'SKU-' || g, 1000000000, 0, 1, now(), now() from generate_series(1, ${PRODUCTS}) g`,
  )
  await inventoryDb.end()

  const post = async (port, path, body, timeoutMs = 10_000) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    return { status: r.status, body: await r.json().catch(() => undefined) }
  }
  const sample = { productId: 'item-1', sku: 'SKU-1', quantity: 1, total: 5 }
  const placed = await post(order, '/orders', sample)
  if (placed.status !== 201 || placed.body?.status !== 'confirmed')
    stop(`POST /orders did not complete its saga: ${placed.status} ${JSON.stringify(placed.body)}`)
  for (const side of ['bare', 'bare-nokeys']) {
    const check = await post(portOf[side], '/orders', sample)
    if (check.status !== 201 || check.body?.status !== 'confirmed')
      stop(`the ${side} peer failed: ${check.status} ${JSON.stringify(check.body)}`)
  }

  // the load: msvc's own loadtest, a scenario for the random product
  const scenario = join(parent, 'orders.yaml')
  writeFileSync(
    scenario,
    [
      'requests:',
      '  - name: place order',
      '    method: POST',
      '    path: /orders',
      `    body: { productId: "item-{{randomInt 1 ${PRODUCTS}}}", sku: "SKU", quantity: 1, total: 5 }`,
      '    expect: 201',
      '',
    ].join('\n'),
  )
  const loadtest = async (port, args) => {
    const argv = [MSVC, 'loadtest', `http://127.0.0.1:${port}`, '-f', scenario, '--json', ...args]
    const r = await promisify(execFile)(process.execPath, argv, {
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
      maxBuffer: 64 << 20,
    }).catch((e) => stop(`msvc loadtest ${argv.slice(2).join(' ')} failed: ${e.stderr || e.message}`))
    return JSON.parse(r.stdout)
  }
  // where the CPU goes, per 201: each process (/proc) and PostgreSQL's container (the engine's count)
  const pgContainer = new Docker().getContainer(container)
  const cpuMs = async () => {
    const out = {}
    for (const [name, p] of procs.entries()) {
      const fields = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      out[name] = (Number(fields[11]) + Number(fields[12])) * 10
    }
    const st = await pgContainer.stats({ stream: false, 'one-shot': true })
    out.postgres = Number(st.cpu_stats?.cpu_usage?.total_usage ?? NaN) / 1e6
    return out
  }
  const closed = async (port, seconds) => {
    const c0 = await cpuMs()
    const r = await loadtest(port, ['-c', String(CONNECTIONS), '-d', `${seconds}s`])
    const c1 = await cpuMs()
    const ok = r.requests - r.errors
    const cpu = Object.fromEntries(Object.keys(c1).map((k) => [k, (c1[k] - c0[k]) / Math.max(ok, 1)]))
    return { rps: ok / (r.durationMs / 1000), errors: r.errors, requests: r.requests, cpu }
  }
  const SIDES = ['saga', 'bare', 'bare-nokeys']
  const ports = { saga: order, bare, 'bare-nokeys': bareNoKeys }
  const load0 = loadavg()[0]
  if (!SMOKE) for (const side of SIDES) await closed(ports[side], 3) // warm-up, not counted
  const runs = await alternate(ROUNDS, SIDES, async (side) => closed(ports[side], SECONDS))
  const rps = Object.fromEntries(SIDES.map((side) => [side, median(runs[side].map((r) => r.rps))]))
  const sagaRps = rps.saga

  const nonFinal = async () =>
    (
      await pool.query(
        "select count(*)::int as n from sagas where finished_at is null and state in ('running','compensating')",
      )
    ).rows[0].n
  /** A run above capacity leaves sagas running after its last answer: each measurement starts without. */
  const drained = async () => {
    const until = Date.now() + 120_000
    while ((await nonFinal()) > 0) {
      if (Date.now() > until) stop('sagas were still running 120 s after a load run')
      await sleep(100)
    }
  }
  await drained()

  // latency at 100 sagas/s; when that is above what the saga sustains here (the open model then
  // measures a queue), at half of its req/s measured above as well
  const latencyRates = [LATENCY_RATE]
  if (sagaRps * 0.8 < LATENCY_RATE) latencyRates.push(Math.max(1, Math.floor(sagaRps / 2)))
  const lat = {}
  for (const rate of latencyRates) {
    lat[rate] = []
    for (let i = 0; i < ROUNDS; i++) {
      const r = await loadtest(order, ['--rate', String(rate), '-d', `${SECONDS}s`])
      lat[rate].push({ p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, requests: r.requests })
      await drained()
    }
  }
  const load1 = loadavg()[0]

  // crash recovery
  const orders = await pool.query('select count(*)::int as n from sagas')
  const before = orders.rows[0].n
  procs.get('payment').kill('SIGSTOP')
  const posting = []
  let next = 0
  const poster = async () => {
    while (next < INFLIGHT) {
      next++
      posting.push(
        await post(order, '/orders', { ...sample, productId: `item-${1 + (next % PRODUCTS)}` }, 15_000).catch(
          (e) => ({ status: 0, body: String(e) }),
        ),
      )
    }
  }
  // answers come after order's 2 s wait: many at once, so that the sagas are all started soon
  const posters = Array.from({ length: Math.min(INFLIGHT, 250) }, poster)
  const allIn = Date.now() + 60_000
  while ((await pool.query('select count(*)::int as n from sagas')).rows[0].n < before + INFLIGHT) {
    if (Date.now() > allIn) stop(`${INFLIGHT} sagas were not started in 60 s`)
    await sleep(20)
  }
  const oldOrder = procs.get('order')
  oldOrder.kill('SIGKILL')
  const killedAt = Date.now()
  await new Promise((r) =>
    oldOrder.exitCode !== null || oldOrder.signalCode ? r() : oldOrder.once('exit', r),
  )
  await Promise.all(posters)
  const inFlight = (
    await pool.query("select id from sagas where finished_at is null and state in ('running','compensating')")
  ).rows.map((r) => r.id)
  procs.get('payment').kill('SIGCONT')
  const spawnedAt = Date.now()
  start('order')
  const ids = JSON.stringify(inFlight)
  // sagas waiting out a backoff at the restart (a charge timed out before the kill) are not due yet
  const { rows: later } = await pool.query(
    `select count(*)::int as n from sagas where next_attempt_at > $1 and id in (select jsonb_array_elements_text($2::jsonb))`,
    [new Date(spawnedAt).toISOString(), JSON.stringify(inFlight)],
  )
  let firstMs
  let resumedMs
  let finishedMs
  let readyMs
  waitForHttp(`http://127.0.0.1:${order}/health/ready`, 30_000)
    .then(() => (readyMs = Date.now() - spawnedAt))
    .catch(() => undefined)
  const until = Date.now() + 120_000
  while (finishedMs === undefined && Date.now() < until) {
    if (resumedMs === undefined) {
      const { rows } = await pool.query(
        `select count(distinct saga_id)::int as n, min(started_at) as first from saga_steps
         where started_at >= $1 and saga_id in (select jsonb_array_elements_text($2::jsonb))`,
        [new Date(spawnedAt).toISOString(), ids],
      )
      if (firstMs === undefined && rows[0].first) firstMs = new Date(rows[0].first).getTime() - spawnedAt
      if (rows[0].n >= inFlight.length) resumedMs = Date.now() - spawnedAt
    }
    if (resumedMs !== undefined) {
      const { rows } = await pool.query(
        `select count(*)::int as n from sagas where finished_at is null and state in ('running','compensating')
         and id in (select jsonb_array_elements_text($1::jsonb))`,
        [ids],
      )
      if (rows[0].n === 0) finishedMs = Date.now() - spawnedAt
    }
    await sleep(20)
  }
  const stillOpen = await nonFinal()
  const { rows: outcomes } = await pool.query(
    `select state, count(*)::int as n from sagas where id in (select jsonb_array_elements_text($1::jsonb))
     group by state order by state`,
    [ids],
  )
  const load2 = loadavg()[0]

  // the figures
  const list = (xs, d = 0) => `[${xs.map((x) => x.toFixed(d)).join(', ')}]`
  console.log(
    `overhead, closed model, ${CONNECTIONS} connections, ${SECONDS} s runs, median of ${ROUNDS} alternating rounds (201s a second):`,
  )
  for (const side of SIDES)
    console.log(
      `  ${side.padEnd(11)} ${rps[side].toFixed(0).padStart(5)} req/s  ${list(runs[side].map((r) => r.rps))}  not 201 ${list(runs[side].map((r) => r.errors))}`,
    )
  const ratio = rps.saga / rps.bare
  const perRound = (peer) => list(runs.saga.map((r, i) => (r.rps / runs[peer][i].rps) * 100))
  console.log(
    `  saga / bare: ${(ratio * 100).toFixed(0)} %  (each round: ${perRound('bare')} %)   target ≥ 40 %: ${ratio >= 0.4 ? 'met' : 'NOT met'}`,
  )
  console.log(
    `  saga / bare, no keys: ${((rps.saga / rps['bare-nokeys']) * 100).toFixed(0)} %  (each round: ${perRound('bare-nokeys')} %)`,
  )
  // the processes that serve a side: its server, the callees, PostgreSQL (the others idle)
  const servers = { saga: 'order', bare: 'bare', 'bare-nokeys': 'bare-nokeys' }
  const cpuOf = (side) => {
    const r = runs[side].find((x) => x.rps === rps[side])
    const shown = [servers[side], 'inventory', 'payment', 'postgres']
    const total = shown.reduce((a, k) => a + r.cpu[k], 0)
    return `${total.toFixed(2)} ms (${shown.map((k) => `${k} ${r.cpu[k].toFixed(2)}`).join(', ')})`
  }
  console.log(`  CPU per 201 in the median round:`)
  for (const side of SIDES) console.log(`    ${side.padEnd(11)} ${cpuOf(side)}`)
  for (const rate of latencyRates) {
    const l = lat[rate]
    const why = rate === LATENCY_RATE ? '' : ' (half the saga req/s above)'
    console.log(
      `latency of POST /orders at ${rate} sagas/s${why}, open model, ${SECONDS} s, median of ${ROUNDS}: p50 ${median(l.map((x) => x.p50)).toFixed(1)} ms, p99 ${median(l.map((x) => x.p99)).toFixed(1)} ms  (p99s ${list(
        l.map((x) => x.p99),
        1,
      )}; not 201 ${list(l.map((x) => x.errors))} of ${list(l.map((x) => x.requests))}: 202 = not ended in order's 2 s wait)`,
    )
  }
  const met = resumedMs !== undefined && resumedMs < 2000 ? 'met' : 'NOT met'
  console.log(
    `crash recovery, ${inFlight.length} sagas not final at order's SIGKILL (${later[0].n} of them in a backoff past the restart), from the new process's spawn (${spawnedAt - killedAt} ms after the kill):`,
  )
  console.log(
    `  ready ${readyMs ?? '?'} ms, first new attempt ${firstMs ?? '?'} ms, every one with a new attempt ${resumedMs ?? '>120000'} ms (target < 2000 ms: ${met}), all ended ${finishedMs ?? '>120000'} ms; ${stillOpen} running or compensating now`,
  )
  console.log(`  how they ended: ${outcomes.map((r) => `${r.state} ${r.n}`).join(', ')}`)
  console.log(
    `machine load (1 min average): ${load0.toFixed(2)} before, ${load1.toFixed(2)} after the load runs, ${load2.toFixed(2)} at the end`,
  )
  if (inFlight.length < INFLIGHT)
    console.log(`  note: ${INFLIGHT - inFlight.length} of the ${INFLIGHT} had ended before the kill`)
  if (resumedMs === undefined || finishedMs === undefined)
    stop('the sagas were not all resumed and finished within 120 s')
} catch (err) {
  console.error(`bench: ${err.bench ? err.message : (err?.stack ?? err)}`)
  process.exitCode = 1
} finally {
  procs.get('payment')?.kill('SIGCONT')
  for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM')
  // each is given its shutdown (order's waits for its attempts in flight), then killed
  await Promise.all(
    [...procs.values()].map((p) =>
      p.exitCode !== null || p.signalCode !== null
        ? undefined
        : new Promise((r) => {
            const late = setTimeout(() => p.kill('SIGKILL'), 15_000)
            p.once('exit', () => r(clearTimeout(late)))
          }),
    ),
  )
  await pool?.end().catch(() => undefined)
  try {
    execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' })
  } catch {
    // not started
  }
  rmSync(parent, { recursive: true, force: true })
}
// the clients' keep-alive sockets and timers would hold the process open
process.exit(process.exitCode ?? 0)
