// What every benchmark shares: its settings (with the smoke mode CI runs so that none rots),
// rounds that alternate the order of what is compared, medians, and the fresh-build check.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Ends the bench with a one-line reason (exit 1). */
export function fail(message) {
  console.error(`bench: ${message}`)
  process.exit(1)
}

/** BENCH_SMOKE=1: each bench does the least work that runs every path; its figures mean nothing. */
export const SMOKE = process.env.BENCH_SMOKE === '1'

/** A numeric setting: the environment variable `name`, else `full`; in smoke mode always `smoke`. */
export function setting(name, full, smoke) {
  if (SMOKE) return smoke
  const raw = process.env[name]
  if (raw === undefined || raw === '') return full
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) fail(`${name}=${raw}: expected a positive number`)
  return n
}

/**
 * How many rounds to run: an odd number, 3 or more, so that the median is one of them (1 in smoke
 * mode). `name` is the environment variable that sets it.
 */
export function rounds(name = 'ROUNDS', full = 3) {
  const n = setting(name, full, 1)
  if (!SMOKE && (n < 3 || n % 2 === 0 || !Number.isInteger(n)))
    fail(`${name}=${n}: use an odd number of rounds, 3 or more (the median is then one of them)`)
  return n
}

/**
 * Runs `fn(name, round)` for every name in every round; odd rounds take the names in reverse, so
 * that a drift in the machine's load (or a warm cache) favours none of them. Returns each name's
 * results in round order.
 */
export async function alternate(count, names, fn) {
  const out = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < count; round++)
    for (const name of round % 2 ? [...names].reverse() : names) out[name].push(await fn(name, round))
  return out
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** The first line a bench prints under BENCH_SMOKE, so that nobody quotes its figures. */
export function smokeBanner(bench) {
  if (SMOKE)
    console.log(`[smoke] ${bench}: shortest settings, to prove it runs; the figures are not measurements`)
}

const REPO = fileURLToPath(new URL('..', import.meta.url))
const newest = (dir) => {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

/** Refuses to measure a build older than the sources (src/, templates/): run `npm run build`. */
export function assertFreshBuild() {
  let built
  try {
    built = statSync(join(REPO, 'dist')).mtimeMs && newest(join(REPO, 'dist'))
  } catch {
    fail('no build to measure (dist/ is missing): run npm run build first')
  }
  const sources = Math.max(newest(join(REPO, 'src')), newest(join(REPO, 'templates')))
  if (sources > built) fail('dist/ is older than src/ or templates/: run npm run build first')
}

/**
 * PostgreSQL 15 in a container named `name` with label `label` (msvc.bench=<bench>), on 127.0.0.1:
 * `port` (password `pw`), optionally pinned to `cpuset`, with `databases` created once it accepts
 * connections (within 30 s, else it throws). The caller removes it (`docker rm -f name`).
 */
export async function startPostgres({ name, label, port, databases, cpuset }) {
  const pin = cpuset === undefined ? [] : ['--cpuset-cpus', String(cpuset)]
  execFileSync(
    'docker',
    ['run', '-d', '--name', name, '--label', label, ...pin].concat([
      '-e',
      'POSTGRES_PASSWORD=pw',
      '-p',
      `127.0.0.1:${port}:5432`,
      'postgres:15',
    ]),
    { stdio: 'ignore' },
  )
  const deadline = Date.now() + 30_000
  for (const db of databases)
    for (;;) {
      try {
        execFileSync('docker', ['exec', name, 'psql', '-U', 'postgres', '-c', `create database ${db}`], {
          stdio: 'ignore',
        })
        break
      } catch {
        if (Date.now() > deadline) throw new Error('postgres:15 did not accept connections in 30 s')
        await new Promise((r) => setTimeout(r, 300))
      }
    }
  return (db) => `postgres://postgres:pw@127.0.0.1:${port}/${db}`
}

/** The built bins, as the benches that drive a generated workspace run them. */
export const MSVC_BIN = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
export const CREATE_BIN = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))

/** Runs `fn` and gives its result with the wall time it took (ms). */
export function timed(fn) {
  const t0 = process.hrtime.bigint()
  const out = fn()
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out }
}

/**
 * A command runner for a generated workspace at `ws` (CI=1, no colour; stdout as the result, a
 * failure thrown with its output).
 */
export function workspaceShell(ws) {
  const env = { ...process.env, CI: '1', NO_COLOR: '1' }
  return (cmd, args, cwd = ws, extra = {}) =>
    execFileSync(cmd, args, {
      cwd,
      env: { ...env, ...extra },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
}

/**
 * `msvc up` of the workspace `sh` runs in (compose project `name`): cold (nothing built, no
 * containers) to all healthy, then warm with nothing changed next to `docker-compose up -d` of the
 * same generated file with the stack up, `n` alternating rounds. Prints the figures (`what` names
 * the stack) and gives the medians.
 */
export async function measureUp(sh, name, n, what) {
  const cold = timed(() => JSON.parse(sh('node', [MSVC_BIN, 'up', '--json'])))
  console.log(`cold up of ${what} to all healthy: ${(cold.ms / 1000).toFixed(2)} s wall`)
  console.log(`  phases (ms): ${JSON.stringify(cold.out.timingsMs)}`)
  const commands = {
    msvc: () => sh('node', [MSVC_BIN, 'up', '--json']),
    compose: () => sh('docker-compose', ['-p', name, '-f', 'docker-compose.yml', 'up', '-d', '--no-build']),
  }
  const runs = await alternate(n, Object.keys(commands), (which) => timed(commands[which]).ms)
  const warm = { msvc: median(runs.msvc), compose: median(runs.compose) }
  const ratio = warm.msvc / warm.compose
  console.log(
    `warm up, nothing changed (median of ${n}, alternating): msvc ${warm.msvc.toFixed(0)} ms, docker-compose up -d ${warm.compose.toFixed(0)} ms, ratio ${ratio.toFixed(2)} x (target <= 1.2 x: ${ratio <= 1.2 ? 'met' : 'NOT met'})`,
  )
  console.log(
    `  rounds (ms): msvc [${runs.msvc.map(Math.round).join(', ')}], compose [${runs.compose.map(Math.round).join(', ')}]`,
  )
  return { cold, warm }
}

/** `msvc down --volumes` of the workspace, then its folder `parent` removed (best effort). */
export function tearDown(sh, parent) {
  try {
    sh('node', [MSVC_BIN, 'down', '--volumes'])
  } catch {
    // best effort: the stack may not have come up
  }
  rmSync(parent, { recursive: true, force: true })
}

/**
 * A temp folder for a generated workspace of this bench: its compose project name (unique, so no
 * leftover of another run is met), the workspace's path (`dir` inside, the name by default) and a
 * runner there.
 */
export function benchWorkspace(bench, dir) {
  const parent = mkdtempSync(join(tmpdir(), `msvc-bench-${bench}-`))
  const name = `bench-${randomBytes(3).toString('hex')}`
  const ws = join(parent, dir ?? name)
  return { parent, name, ws, sh: workspaceShell(ws) }
}
