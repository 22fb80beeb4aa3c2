import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/**
 * JSON logs on stdout, one object a line, with the service name in every line.
 *
 * Lines go out at the end of the event-loop turn that logged them, all of the turn's lines in one
 * synchronous write (see StdoutLines). Measured under load (issue #2), a write for every line was
 * the largest cost a request had after the response itself.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? StdoutLines.shared(),
  )
}

let lastMs = -1
let lastTime = ''

/** pino's ISO time field, formatted once per millisecond instead of once per line. */
function isoTime(): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastTime = `,"time":"${new Date(now).toISOString()}"`
  }
  return lastTime
}

/**
 * Log lines for stdout, collected during one turn of the event loop and written together, with one
 * synchronous write (pino's sonic-boom, which handles partial writes and a full pipe) when the turn
 * ends. A line is therefore never later than the turn that logged it; on `process.exit` (a crash
 * handler, shutdown) the lines still held are written before the process ends. Only a kill that
 * gives the process no chance (SIGKILL) can lose them, and then only the current turn's.
 * A synchronous write pushes back on a stalled log reader instead of filling memory.
 */
export class StdoutLines implements DestinationStream {
  private static instance: StdoutLines | undefined
  private pending = ''
  private scheduled = false

  /** `out`: where the lines go (stdout, synchronously, unless a test passes its own). */
  constructor(private readonly out: DestinationStream = pino.destination({ dest: 1, sync: true })) {}

  /** One per process: every logger writing to stdout shares it, so lines never interleave. */
  static shared(): StdoutLines {
    if (!StdoutLines.instance) {
      const lines = new StdoutLines()
      process.once('exit', () => lines.flushSync())
      StdoutLines.instance = lines
    }
    return StdoutLines.instance
  }

  write(line: string): void {
    this.pending += line
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.endOfTurn)
    }
  }

  /** Writes what is held now; pino's `logger.flush(cb)` calls it. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync()
    cb?.()
  }

  flushSync(): void {
    if (this.pending === '') return
    const chunk = this.pending
    this.pending = ''
    this.out.write(chunk)
  }

  private readonly endOfTurn = (): void => {
    this.scheduled = false
    this.flushSync()
  }
}
