import type { Writable } from 'node:stream'
import type { ChalkInstance } from 'chalk'
import type { PhaseEvent, ServicePhase } from '../runtime/runtime.js'

const SYMBOL: Record<ServicePhase, string> = {
  building: '…',
  built: '•',
  cached: '•',
  starting: '…',
  healthy: '✔',
  unhealthy: '✖',
  failed: '✖',
}

/**
 * One line per service with its phase. On a TTY the block is redrawn in place;
 * otherwise each change is printed once, so CI logs read top to bottom.
 */
export class TaskList {
  private readonly rows = new Map<string, { phase: ServicePhase | 'waiting'; detail?: string; t0: number }>()
  private drawn = 0

  constructor(
    private readonly out: Writable,
    private readonly color: ChalkInstance,
    private readonly live: boolean,
    services: string[],
  ) {
    for (const s of services) this.rows.set(s, { phase: 'waiting', t0: performance.now() })
    if (live) this.draw()
  }

  update(e: PhaseEvent): void {
    const row = this.rows.get(e.service) ?? { phase: 'waiting' as const, t0: performance.now() }
    if (row.phase === e.phase && row.detail === e.detail) return
    this.rows.set(e.service, { phase: e.phase, ...(e.detail ? { detail: e.detail } : {}), t0: row.t0 })
    if (this.live) this.draw()
    else this.out.write(this.line(e.service) + '\n')
  }

  private line(service: string): string {
    const row = this.rows.get(service)!
    const c = this.color
    const paint =
      row.phase === 'healthy' ? c.green : row.phase === 'failed' || row.phase === 'unhealthy' ? c.red : c.cyan
    const symbol = row.phase === 'waiting' ? ' ' : SYMBOL[row.phase]
    const detail = row.detail ? c.dim(` ${row.detail.split('\n')[0]}`) : ''
    return `${paint(symbol)} ${service.padEnd(this.width())} ${paint(row.phase)}${detail}`
  }

  private width(): number {
    return Math.max(...[...this.rows.keys()].map((k) => k.length))
  }

  private draw(): void {
    if (this.drawn > 0) this.out.write(`\u001b[${this.drawn}A`)
    const lines = [...this.rows.keys()].map((s) => `\u001b[2K${this.line(s)}`)
    this.out.write(lines.join('\n') + '\n')
    this.drawn = lines.length
  }
}
