import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { REPO } from './cli.js'

/** Bundles test/helpers/events-worker.ts (and with it the kit's event bus) into `dir`. */
export async function bundleEventsWorker(dir: string): Promise<string> {
  const outfile = join(dir, 'events-worker.mjs')
  await build({
    entryPoints: [join(REPO, 'test/helpers/events-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  })
  return outfile
}

export interface Worker {
  proc: ChildProcess
  /** resolves when the worker printed "ready" (connected, consumers started) */
  ready: Promise<void>
  exited: Promise<number | null>
  stderr: () => string
}

/** Starts the bundled worker with its config; it is killed by `stopAll`. */
export function startWorker(bundle: string, config: Record<string, unknown>, all: Worker[]): Worker {
  const proc = spawn(process.execPath, [bundle], {
    env: { ...process.env, WORKER_CONFIG: JSON.stringify(config), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  proc.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)))
  proc.stdout?.resume()
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) resolve()
    })
    void exited.then((code) => reject(new Error(`worker exited (${code}) before ready: ${err}`)))
  })
  ready.catch(() => undefined)
  const w = { proc, ready, exited, stderr: () => err }
  all.push(w)
  return w
}

export async function stopAll(all: Worker[]): Promise<void> {
  for (const w of all.splice(0)) {
    if (w.proc.exitCode === null && w.proc.signalCode === null) {
      w.proc.kill('SIGKILL')
      await w.exited
    }
  }
}

/** Lines "<n> <rest>" of a file the workers append to (absent file: none). */
export function readLines(file: string): { n: number; rest: string }[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(' ')
      return { n: Number(l.slice(0, i)), rest: l.slice(i + 1) }
    })
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
