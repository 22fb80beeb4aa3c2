// Chaos timing, measured from outside msvc (not a test): how long from `msvc chaos <fault>` to the
// fault being in effect, from the end of `--for` to it being undone, and how close the reported
// recovery time is to what an independent observer sees. Needs root, Docker and a build (npm run
// build). Figures are noisy on a shared 2-core machine: read them as orders of magnitude.
//   [ROUNDS=5] node bench/chaos-timing.mjs
import { execa } from 'execa'
import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { assertFreshBuild, rounds, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('chaos-timing')
const ROUNDS = rounds('ROUNDS', 5)
const BIN = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
const SERVER = `require('http').createServer((q,s)=>s.end('ok')).listen(Number(process.env.PORT),'0.0.0.0')`
const HEALTH = `fetch('http://127.0.0.1:'+process.env.PORT+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => res(p))
  })
})
const ws = `bench-${randomBytes(3).toString('hex')}`
const root = await mkdtemp(join(tmpdir(), 'msvc-bench-'))
await writeFile(
  `${root}/msvc.yaml`,
  `name: ${ws}\nservices:\n  web:\n    capabilities: [http]\n    ports: { http: ${port} }\n`,
)
const docker = (...a) => execa('docker', a).then((r) => r.stdout.trim())
const running = new Set()
const run = (args) =>
  execa('node', [BIN, ...args], { cwd: root, reject: false, env: { NO_COLOR: '1', CI: '1' } })
/** The bench's msvc commands; none starts once Ctrl-C was pressed (the bench is ending). */
const msvc = (args) => {
  if (cleaned) return new Promise(() => {})
  const p = run(args)
  running.add(p)
  return p.finally(() => running.delete(p))
}
// AbortSignal.timeout's timers do not hold the event loop: without this, a probe waiting on a
// container that is still starting could let node exit mid-run (exit code 13)
const holdOpen = setInterval(() => {}, 1000)
// the bench's container, once it exists (until then, found by its workspace label)
let id
// Ctrl-C: the msvc command in flight is interrupted too (on a terminal it got the same SIGINT) and
// restores its own fault; then anything else is restored and the bench's container and folder
// are removed, and the bench exits 130.
let cleaned
const cleanUp = () =>
  (cleaned ??= (async () => {
    clearInterval(holdOpen)
    for (const p of running) p.kill('SIGINT')
    await Promise.all(running)
    await run(['chaos', 'restore']).catch(() => {})
    const ours = id ? [id] : (await docker('ps', '-aq', '--filter', `label=msvc.workspace=${ws}`)).split('\n')
    for (const c of ours.filter(Boolean)) await docker('rm', '-f', c).catch(() => {})
    await rm(root, { recursive: true, force: true })
  })())
// `on`, not `once`: execa's exit hook re-raises a SIGINT that no other listener is left to handle
process.on('SIGINT', () => cleanUp().finally(() => process.exit(130)))
id = await docker(
  'run',
  '-d',
  '--label',
  `msvc.workspace=${ws}`,
  '--label',
  'msvc.service=web',
  '-p',
  `127.0.0.1:${port}:${port}`,
  '-e',
  `PORT=${port}`,
  '--restart',
  'unless-stopped',
  '--health-cmd',
  `node -e "${HEALTH}"`,
  '--health-interval',
  '1s',
  '--health-retries',
  '2',
  'node:20-slim',
  'node',
  '-e',
  SERVER,
)
const url = `http://127.0.0.1:${port}/x`
const get = async (timeout = 1000) => {
  const t = performance.now()
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeout) })
    await r.arrayBuffer()
    return { ok: r.ok, ms: performance.now() - t }
  } catch {
    return { ok: false, ms: performance.now() - t }
  }
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, min ${s[0].toFixed(0)}, max ${s.at(-1).toFixed(0)} (n=${s.length})`
}

try {
  while (!(await get()).ok) await sleep(100)
  const inEffect = { latency: [], loss: [], pause: [] }
  const undone = { latency: [], loss: [], pause: [] }
  const applyMs = { latency: [], loss: [], pause: [] }
  const spawnMs = []
  for (let i = 0; i < ROUNDS; i++) {
    // the node start-up of msvc itself, for reference
    let t = performance.now()
    await msvc(['chaos', 'status'])
    spawnMs.push(performance.now() - t)
    for (const [fault, args, isFaulty] of [
      ['latency', ['latency', 'web', '300ms'], (r) => !r.ok || r.ms > 150],
      ['loss', ['loss', 'web', '100%'], (r) => !r.ok],
      ['pause', ['pause', 'web'], (r) => !r.ok],
    ]) {
      // in effect: the first probe (every 10 ms, 200 ms timeout) that sees the fault, from the command's start
      t = performance.now()
      const child = msvc([
        'chaos',
        ...args,
        '--for',
        '2s',
        '--json',
        ...(fault === 'pause' ? ['--no-watch'] : []),
      ])
      let seen
      while (!seen && performance.now() - t < 5000) {
        const sent = performance.now()
        const r = await get(200)
        if (isFaulty(r)) seen = sent - t
        else await sleep(10)
      }
      inEffect[fault].push(seen ?? NaN)
      const r = await child
      // msvc's own clock: command start -> applied, and end of --for -> undone
      const out = JSON.parse(r.stdout)
      applyMs[fault].push(out.applyMs)
      undone[fault].push(out.restoreMs)
      while (!(await get(500)).ok) await sleep(20)
    }
  }
  console.log(`msvc process start + chaos status (empty ledger): ${stats(spawnMs)}`)
  for (const f of Object.keys(inEffect)) {
    console.log(
      `${f}: process spawn -> in effect (seen by a client probing every 10 ms): ${stats(inEffect[f])}`,
    )
    console.log(`${f}: command start -> applied (msvc's clock, excludes node start-up): ${stats(applyMs[f])}`)
    console.log(`${f}: end of --for -> undone (msvc's clock): ${stats(undone[f])}`)
  }
  // recovery precision: msvc's readyMs vs an observer polling every 10 ms
  const errs = []
  for (let i = 0; i < ROUNDS; i++) {
    const seen = { down: false, ready: 0 }
    let stop = false
    const obs = (async () => {
      while (!stop) {
        const r = await get(300)
        if (!r.ok) seen.down = true
        else if (seen.down && !seen.ready) seen.ready = Date.now()
        await sleep(10)
      }
    })()
    const r = await msvc(['chaos', 'kill', 'web', '--json'])
    stop = true
    await obs
    const out = JSON.parse(r.stdout)
    errs.push(out.recovery.readyMs - (seen.ready - Date.parse(out.appliedAt)))
    await sleep(1500)
  }
  console.log(`kill: reported readyMs - observed (10 ms observer): ${stats(errs)}`)
} finally {
  await cleanUp()
}
