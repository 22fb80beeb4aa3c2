import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/**
 * JSON logs on stdout, one object a line, with the service name in every line.
 *
 * Each line is written synchronously, as it is logged. Measured under load (issue #2), that is
 * the cheapest of pino's destinations here: an asynchronous write costs a request to the thread
 * pool per line, and a buffered one re-measures its growing buffer on every line. A synchronous
 * line is also never lost when the process dies, and a stalled log reader slows the service down
 * rather than filling its memory.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
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
