/**
 * The dashboard's logs (issue #18): the stack's container log lines read into entries (the kit
 * writes one JSON object a line: level, time, msg, requestId, trace_id/span_id once tracing is on),
 * kept in a bounded ring, and filtered by service, level, request id, trace id and text. Pure.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']
/** pino's numeric levels */
const PINO_LEVELS: Record<number, LogLevel> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
}

export interface LogEntry {
  /** increasing, to fetch what came after a given entry */
  seq: number
  /** ms since the epoch: the line's own time, else when it was read */
  timeMs: number
  service: string
  level: LogLevel
  /** the message (`msg`), or the whole line when it is not JSON */
  msg: string
  requestId?: string
  traceId?: string
  spanId?: string
  /** the line as written, for the detail view */
  raw: string
}

export interface LogFilter {
  service?: string
  /** this level and above */
  level?: LogLevel
  requestId?: string
  traceId?: string
  /** the lines written while this span was active (the kit's `span_id`) */
  spanId?: string
  /** a substring of the line, any case */
  text?: string
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)

function toLevel(v: unknown): LogLevel | undefined {
  if (typeof v === 'number') return PINO_LEVELS[v]
  if (typeof v !== 'string') return undefined
  const l = v.toLowerCase()
  if (l === 'warning') return 'warn'
  return (LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : undefined
}

/** One log line as an entry; a line that is not a JSON object is kept whole at level info. */
export function parseLogLine(service: string, line: string, readAtMs: number, seq: number): LogEntry {
  const text = line.replace(/\r$/, '')
  let obj: Record<string, unknown> | undefined
  if (text.startsWith('{'))
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        obj = parsed as Record<string, unknown>
    } catch {
      // not JSON after all: kept as text
    }
  if (!obj) return { seq, timeMs: readAtMs, service, level: 'info', msg: text, raw: text }
  const time =
    typeof obj.time === 'number' ? obj.time : typeof obj.time === 'string' ? Date.parse(obj.time) : NaN
  const requestId = str(obj.requestId) ?? str(obj.reqId) ?? str(obj.request_id)
  const traceId = str(obj.trace_id) ?? str(obj.traceId)
  const spanId = str(obj.span_id) ?? str(obj.spanId)
  return {
    seq,
    timeMs: Number.isFinite(time) ? time : readAtMs,
    service,
    level: toLevel(obj.level) ?? 'info',
    msg: str(obj.msg) ?? str(obj.message) ?? '',
    ...(requestId ? { requestId } : {}),
    ...(traceId ? { traceId: traceId.toLowerCase() } : {}),
    ...(spanId ? { spanId: spanId.toLowerCase() } : {}),
    raw: text,
  }
}

/** True when the entry passes every part of the filter given. */
export function matchesLogFilter(e: LogEntry, f: LogFilter): boolean {
  if (f.service && e.service !== f.service) return false
  if (f.level && LEVELS.indexOf(e.level) < LEVELS.indexOf(f.level)) return false
  if (f.requestId && e.requestId !== f.requestId) return false
  if (f.traceId && e.traceId !== f.traceId.toLowerCase()) return false
  if (f.spanId && e.spanId !== f.spanId.toLowerCase()) return false
  if (f.text && !e.raw.toLowerCase().includes(f.text.toLowerCase())) return false
  return true
}

/** A log level from a query parameter; undefined when it names none. */
export const toLogLevel = (v: string | undefined): LogLevel | undefined => (v ? toLevel(v) : undefined)

/** The last `max` entries, oldest dropped first. */
export class LogRing {
  private readonly entries: LogEntry[] = []
  private nextSeq = 1

  constructor(readonly max = 5000) {}

  /** Reads and keeps a line; returns its entry. */
  add(service: string, line: string, readAtMs: number): LogEntry {
    const e = parseLogLine(service, line, readAtMs, this.nextSeq++)
    this.entries.push(e)
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max)
    return e
  }

  /** The newest `limit` entries that match, after `afterSeq` if given, oldest first. */
  query(f: LogFilter & { afterSeq?: number; limit?: number } = {}): LogEntry[] {
    const limit = Math.min(Math.max(1, f.limit ?? 500), this.max)
    const out: LogEntry[] = []
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.entries[i]!
      if (f.afterSeq !== undefined && e.seq <= f.afterSeq) break
      if (matchesLogFilter(e, f)) out.push(e)
    }
    return out.reverse()
  }

  get size(): number {
    return this.entries.length
  }
}
