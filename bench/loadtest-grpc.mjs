// gRPC calls per second that `msvc loadtest` sustains through a workspace's generated client,
// against a bare @grpc/grpc-js loop (prebuilt request bytes, no message building, no metadata)
// in the same run (not a test). Needs a build (npm run build). A generated order service runs
// pinned to core 1, the generators to core 0 (taskset); both keep 50 calls in flight for the
// same time, alternating over rounds; the median and per-round ratios are printed.
//   [ROUNDS=3] node bench/loadtest-grpc.mjs [seconds per run, default 5]
import { execa } from 'execa'
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SMOKE, alternate, assertFreshBuild, median, rounds, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('loadtest-grpc')
const SECONDS = SMOKE ? 1 : Number(process.argv[2] ?? 5)
const ROUNDS = rounds()
const IN_FLIGHT = 50
const REPO = fileURLToPath(new URL('../', import.meta.url))
const MSVC = join(REPO, 'bin/msvc.js')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const TASKSET = (await execa('sh', ['-c', 'command -v taskset'], { reject: false })).exitCode === 0
const pin = (core, cmd, args, opts = {}) =>
  TASKSET ? execa('taskset', ['-c', String(core), cmd, ...args], opts) : execa(cmd, args, opts)
const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => res(p))
    })
  })
const listening = (port) =>
  new Promise((res) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => (s.destroy(), res(true)))
    s.once('error', () => res(false))
  })

const dir = await mkdtemp(join(tmpdir(), 'msvc-grpcbench-'))
let service
try {
  // a workspace with one gRPC service, its node_modules linked to this repository's
  await execa(
    'node',
    [
      join(REPO, 'bin/create-service.js'),
      'shop',
      '--yes',
      '--service',
      'order',
      '--grpc',
      '--store',
      'memory',
    ],
    {
      cwd: dir,
      env: { CI: '1' },
    },
  )
  const root = join(dir, 'shop')
  await mkdir(join(root, 'node_modules/@shop'), { recursive: true })
  for (const e of await readdir(join(REPO, 'node_modules')))
    if (!e.startsWith('.')) await symlink(join(REPO, 'node_modules', e), join(root, 'node_modules', e))
  await symlink(join(root, 'packages/kit'), join(root, 'node_modules/@shop/kit'))
  await symlink(join(root, 'packages/clients'), join(root, 'node_modules/@shop/clients'))
  await execa('node', ['../../scripts/build-service.mjs'], { cwd: join(root, 'services/order') })
  const [httpPort, grpcPort] = [await freePort(), await freePort()]
  service = pin(1, process.execPath, ['dist/main.js'], {
    cwd: join(root, 'services/order'),
    env: { PORT: String(httpPort), GRPC_PORT: String(grpcPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    reject: false,
  })
  for (let i = 0; i < 100 && !(await listening(grpcPort)); i++) await sleep(100)
  const address = `127.0.0.1:${grpcPort}`

  // ListOrders { page_size: 1 } on an empty store: the cheapest call that answers OK
  await writeFile(
    join(root, 'bench.yaml'),
    `requests:\n  - grpc: { service: order, method: ListOrders, address: "${address}", message: { page_size: 1 } }\n`,
  )
  const bare = `
    import { createRequire } from 'node:module'
    const grpc = createRequire(${JSON.stringify(join(root, 'package.json'))})('@grpc/grpc-js')
    const client = new grpc.Client(${JSON.stringify(address)}, grpc.credentials.createInsecure())
    await new Promise((r, j) => client.waitForReady(Date.now() + 5000, (e) => (e ? j(e) : r())))
    const req = Buffer.from([0x08, 0x01]) // page_size = 1
    let n = 0, errors = 0, sending = true
    const t0 = performance.now()
    const one = () => client.makeUnaryRequest('/shop.order.v1.OrderService/ListOrders', (b) => b, (b) => b, req,
      new grpc.Metadata(), { deadline: Date.now() + 2000 }, (e) => { e ? errors++ : n++; if (sending) one() })
    for (let i = 0; i < ${IN_FLIGHT}; i++) one()
    await new Promise((r) => setTimeout(r, ${SECONDS * 1000}))
    sending = false
    console.log(JSON.stringify({ rate: n / ((performance.now() - t0) / 1000), errors }))
    client.close()`
  // the two take turns, in alternating order from round to round
  const runs = await alternate(ROUNDS, ['msvc', 'bare'], async (name) => {
    if (name === 'msvc') {
      const m = await pin(
        0,
        process.execPath,
        [MSVC, 'loadtest', '-f', 'bench.yaml', '-c', String(IN_FLIGHT), '-d', `${SECONDS}s`, '--json'],
        { cwd: root },
      )
      const report = JSON.parse(m.stdout)
      if (report.errors) throw new Error(`msvc loadtest: ${report.errors} errors`)
      return report.achievedRate
    }
    const b = JSON.parse((await pin(0, process.execPath, ['--input-type=module', '-e', bare])).stdout)
    if (b.errors) throw new Error(`bare loop: ${b.errors} errors`)
    return b.rate
  })
  console.log(
    `target: generated order service (grpc-js server) on core 1; generators on core 0; ${IN_FLIGHT} calls in flight, ${SECONDS} s per run, ${ROUNDS} rounds`,
  )
  for (const [name, xs] of [
    ['msvc loadtest -c (generated client)', runs.msvc],
    ['bare @grpc/grpc-js loop', runs.bare],
  ])
    console.log(
      `  ${name.padEnd(36)} ${Math.round(median(xs)).toString().padStart(7)} calls/s   [${xs.map(Math.round).join(', ')}]`,
    )
  console.log(
    `  msvc/bare: median ${(median(runs.msvc) / median(runs.bare)).toFixed(2)}; per round ${runs.msvc.map((m, i) => (m / runs.bare[i]).toFixed(2)).join(', ')}`,
  )
} finally {
  service?.kill('SIGTERM')
  await service?.catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
}
