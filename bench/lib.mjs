// What every benchmark shares: its settings (with the smoke mode CI runs so that none rots),
// rounds that alternate the order of what is compared, medians, and the fresh-build check.
import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
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
