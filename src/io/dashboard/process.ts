/**
 * The dashboard as a background process of a workspace (issue #18): `msvc up` starts it detached,
 * `msvc dashboard` restarts it, `msvc down` stops it. Its pid, port and URL sit in the workspace's
 * state folder (.msvc/dashboard.json, beside the chaos ledger), written by the dashboard itself
 * once it listens and removed when it exits. A record is believed only while its process is alive
 * and answers /api/ping with this workspace's root, so a stale record (a crash, a reboot, a pid
 * reused by another program) is found out and removed, never kept.
 */
import { spawn } from 'node:child_process'
import { existsSync, openSync, closeSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UserError } from '../../errors.js'
import { isProcessAlive, LEDGER_DIR } from '../chaos/ledger-store.js'
import { writeFileAtomic } from '../fs.js'
import { RECEIVER_NODE_FLAGS } from './otlp-receiver.js'

/** The dashboard's default port: next to nothing msvc.yaml or msvc's stack may publish (RESERVED_PORTS). */
export const DEFAULT_DASHBOARD_PORT = 4400

export interface DashboardRecord {
  pid: number
  /** the UI and API: http://127.0.0.1:port */
  url: string
  port: number
  /** where the services export OTLP (the port on loopback and on the Docker bridge) */
  otlpPort: number
  otlpAddresses: string[]
  root: string
  startedAt: string
  version: string
}

export const dashboardRecordPath = (root: string) => join(root, LEDGER_DIR, 'dashboard.json')
export const dashboardLogPath = (root: string) => join(root, LEDGER_DIR, 'dashboard.log')

export async function writeDashboardRecord(root: string, r: DashboardRecord): Promise<void> {
  await writeFileAtomic(dashboardRecordPath(root), JSON.stringify(r, null, 2) + '\n')
}

/** Removes the record if it is this process's (a newer dashboard may have written its own). */
export async function removeDashboardRecord(root: string, pid = process.pid): Promise<void> {
  const r = await readRecord(root)
  if (r?.pid === pid) await rm(dashboardRecordPath(root), { force: true })
}

async function readRecord(root: string): Promise<DashboardRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(dashboardRecordPath(root), 'utf8')) as DashboardRecord
    return Number.isInteger(r.pid) && typeof r.url === 'string' ? r : undefined
  } catch {
    return undefined
  }
}

/** Does the dashboard at `url` answer as this workspace's? */
async function answers(url: string, root: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/api/ping`, { signal: AbortSignal.timeout(1000) })
    return r.ok && ((await r.json()) as { root?: string }).root === root
  } catch {
    return false
  }
}

/** The running dashboard of the workspace, or undefined; a stale record is removed. */
export async function findDashboard(root: string): Promise<DashboardRecord | undefined> {
  const r = await readRecord(root)
  if (!r) return undefined
  if (isProcessAlive(r.pid) && (await answers(r.url, root))) return r
  await rm(dashboardRecordPath(root), { force: true })
  return undefined
}

/** msvc's bin, found from this module (src/ in tests, a chunk in dist/ when built). */
function msvcBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const bin = join(dir, 'bin', 'msvc.js')
    if (existsSync(bin) && existsSync(join(dir, 'dist', 'cli.js'))) return bin
    dir = dirname(dir)
  }
  throw new UserError('cannot find msvc’s bin/msvc.js to start the dashboard', 'run npm run build in msvc')
}

export interface StartDashboardOptions {
  port?: number
  otlpPort?: number
  /** how long to wait for it to listen */
  timeoutMs?: number
}

/**
 * Starts `msvc dashboard --foreground` detached from this process (its output in
 * .msvc/dashboard.log), run with RECEIVER_NODE_FLAGS; resolves once it answers.
 */
export async function startDashboardProcess(
  root: string,
  o: StartDashboardOptions = {},
): Promise<DashboardRecord> {
  await mkdir(join(root, LEDGER_DIR), { recursive: true })
  const log = openSync(dashboardLogPath(root), 'a')
  const args = [...RECEIVER_NODE_FLAGS, msvcBin(), 'dashboard', '--foreground', '--no-open']
  if (o.port !== undefined) args.push('--port', String(o.port))
  if (o.otlpPort !== undefined) args.push('--otlp-port', String(o.otlpPort))
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, NO_COLOR: '1' },
  })
  closeSync(log)
  let exited: string | undefined
  child.on('exit', (code, signal) => (exited = signal ?? `code ${code}`))
  child.unref()
  const deadline = Date.now() + (o.timeoutMs ?? 10_000)
  while (Date.now() < deadline) {
    const r = await readRecord(root)
    if (r && r.pid === child.pid && (await answers(r.url, root))) return r
    if (exited) break
    await new Promise((res) => setTimeout(res, 100))
  }
  if (!exited) child.kill('SIGTERM')
  const tail = (await readFile(dashboardLogPath(root), 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .slice(-3)
    .join(' ')
  throw new UserError(
    `the dashboard did not start${exited ? ` (it exited, ${exited})` : ''}${tail ? `: ${tail}` : ''}`,
    `its output is in ${dashboardLogPath(root)}; msvc dashboard --foreground shows it in the terminal`,
  )
}

/** Stops the workspace's dashboard if one runs; true when one did. */
export async function stopDashboard(root: string): Promise<boolean> {
  const r = await findDashboard(root)
  if (!r) return false
  try {
    process.kill(r.pid, 'SIGTERM')
  } catch {
    return false
  }
  for (let i = 0; i < 30 && isProcessAlive(r.pid); i++) await new Promise((res) => setTimeout(res, 100))
  if (isProcessAlive(r.pid)) process.kill(r.pid, 'SIGKILL')
  await rm(dashboardRecordPath(root), { force: true })
  return true
}
