import { pino, type Logger, type DestinationStream } from 'pino'
import { plainMode } from './plain.js'
import { activeTraceFields, isTracing } from './tracing.js'

export type { Logger }

/**
 * JSON logs on stdout, one object a line, with the service name in every line.
 *
 * Lines go out at the end of the event-loop turn that logged them, all of the turn's lines in one
 * synchronous write (see StdoutLines): under load, a write for every line was the largest cost a
 * request had after the response itself (PERFORMANCE.md). With `plain` (or KIT_PLAIN_LOGGING=1),
 * a plain pino logger writing each line as it is logged.
 *
 * With tracing on (startTracing ran first), a line logged while a span is active carries its
 * `trace_id` and `span_id`, so the logs of one trace can be found from it; without tracing no
 * mixin is installed and a line costs what it did.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination?: DestinationStream,
  opts: { plain?: boolean } = {},
): Logger {
  const traced = isTracing() ? { mixin: traceMixin } : {}
  if (opts.plain ?? plainMode())
    return pino(
      {
        level,
        ...traced,
        base: { service },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination ?? pino.destination({ dest: 1, sync: true }),
    )
  const logger = pino(
    {
      level,
      ...traced,
      base: { service },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? StdoutLines.shared(),
  )
  OUR_FORMAT.add(logger)
  return logger
}

/** pino's mixin: the active span's ids, when there is one (a new object: pino assigns into it). */
const traceMixin = (): object => activeTraceFields() ?? {}

/** Loggers made by createLogger: their lines have the format preformattedLine writes. */
const OUR_FORMAT = new WeakSet<Logger>()

/**
 * A writer of one kind of line written very often (one a request): `write(fields)` writes what
 * `logger[level]({ ...fields }, msg)` writes, given the fields as JSON text already (`"a":1,"b":"x"`,
 * no braces), without pino walking an object key by key. Measured under load, pino's
 * serialization of the request line was the largest cost a request had in the kit (PERFORMANCE.md). The level is
 * checked at each write, so a level changed at run time is honoured. For a logger createLogger did
 * not make (another format), or one writing to a stream that needs each line's level (a pino
 * multistream), the writer falls back to the logger itself.
 */
export function preformattedLine(
  logger: Logger,
  level: 'info' | 'debug',
  msg: string,
): (fields: string) => void {
  const own = logger as unknown as Record<symbol, unknown>
  const stream = own[pino.symbols.streamSym] as DestinationStream & Record<symbol, unknown>
  // a stream that wants each line's level beside it (pino.multistream) is left to pino
  if (!OUR_FORMAT.has(logger) || stream[pino.symbols.needsMetadataGsym] === true)
    return (fields) => logger[level](JSON.parse(`{${fields}}`) as object, msg)
  const head = `{"level":${JSON.stringify(level)}`
  const tail = `,"msg":${JSON.stringify(msg)}}\n`
  return (fields) => {
    if (!logger.isLevelEnabled(level)) return
    stream.write(`${head}${isoTime()}${own[pino.symbols.chindingsSym] as string},${fields}${tail}`)
  }
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
