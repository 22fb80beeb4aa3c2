import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './net.js'

/** True when a nats-server binary is on PATH (Debian's package installs one; .ci/run does). */
export const hasNatsServer = (): boolean => spawnSync('nats-server', ['--version']).status === 0

/**
 * A real nats-server with JetStream on free 127.0.0.1 ports and a temp store, started by the
 * test and killed afterwards. restart() brings it back on the same port and store.
 */
export class NatsServer {
  private proc?: ChildProcess
  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  static async start(): Promise<NatsServer> {
    const storeDir = await mkdtemp(join(tmpdir(), 'msvc-nats-'))
    const server = new NatsServer(await freePort(), await freePort(), storeDir)
    await server.spawn()
    return server
  }

  private async spawn(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort)]
    const proc = spawn('nats-server', [...args, '-js', '-sd', this.storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let log = ''
    proc.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)))
    this.proc = proc
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}: ${log}`)
      try {
        const r = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`, {
          signal: AbortSignal.timeout(500),
        })
        if (r.ok) return
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`nats-server did not become healthy within 10 s: ${log}`)
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    const proc = this.proc
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGKILL')
    await exited
  }

  async restart(downMs = 0): Promise<void> {
    await this.kill()
    if (downMs) await new Promise((r) => setTimeout(r, downMs))
    await this.spawn()
  }

  async stop(): Promise<void> {
    await this.kill()
    await rm(this.storeDir, { recursive: true, force: true })
  }
}
