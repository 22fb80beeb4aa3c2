/**
 * OTLP trace requests into msvc's span model (issue #18): an ExportTraceServiceRequest, as
 * protobufjs decodes it or as OTLP/JSON parses, becomes Spans for the SpanStore (spans.ts). Pure:
 * the receiver (io/dashboard/otlp-receiver.ts) owns the sockets and the decoding.
 */
import type { Attributes, Span, SpanKind, SpanLink, SpanStatus } from './spans.js'

// The decoded OTLP structures. Field names are OTLP/JSON's (lowerCamelCase), which are also what
// protobufjs decodes into; protobufjs gives bytes and 64-bit integers (a Long: low/high), JSON
// gives hex strings and decimal strings or numbers. Every field may be missing or null, and JSON
// may carry any type at all, so the conversion checks each value it reads.
export type OtlpInt64 = number | string | bigint | { low: number; high: number }
export type OtlpBytes = Uint8Array | string

export interface OtlpAnyValue {
  stringValue?: string | null
  boolValue?: boolean | null
  intValue?: OtlpInt64 | null
  doubleValue?: number | null
  arrayValue?: { values?: OtlpAnyValue[] | null } | null
  kvlistValue?: { values?: OtlpKeyValue[] | null } | null
  bytesValue?: OtlpBytes | null
}
export interface OtlpKeyValue {
  key?: string | null
  value?: OtlpAnyValue | null
}
export interface OtlpSpan {
  traceId?: OtlpBytes | null
  spanId?: OtlpBytes | null
  parentSpanId?: OtlpBytes | null
  name?: string | null
  kind?: number | string | null
  startTimeUnixNano?: OtlpInt64 | null
  endTimeUnixNano?: OtlpInt64 | null
  attributes?: OtlpKeyValue[] | null
  events?:
    { timeUnixNano?: OtlpInt64 | null; name?: string | null; attributes?: OtlpKeyValue[] | null }[] | null
  links?:
    { traceId?: OtlpBytes | null; spanId?: OtlpBytes | null; attributes?: OtlpKeyValue[] | null }[] | null
  status?: { code?: number | string | null; message?: string | null } | null
}
export interface OtlpTraceRequest {
  resourceSpans?:
    | {
        resource?: { attributes?: OtlpKeyValue[] | null } | null
        scopeSpans?: { scope?: { name?: string | null } | null; spans?: OtlpSpan[] | null }[] | null
      }[]
    | null
}

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']
const KIND_NAMES: Record<string, number> = Object.fromEntries(
  KINDS.map((k, i) => [`SPAN_KIND_${k.toUpperCase()}`, i]),
)
const STATUSES: readonly SpanStatus[] = ['unset', 'ok', 'error']
const EMPTY: readonly never[] = Object.freeze([])

const HEX_DIGITS = '0123456789abcdef'
const hexCodes: number[] = []

/** Lowercase hex of an id of `bytes` bytes, or undefined when it is not one (wrong length, all zero). */
export function toHexId(id: OtlpBytes | null | undefined, bytes: number): string | undefined {
  let hex: string
  if (typeof id === 'string') {
    // OTLP/JSON: ids are hex, case-insensitive (not base64 as protobuf's own JSON mapping has them)
    if (id.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(id)) return undefined
    hex = id.toLowerCase()
  } else if (id instanceof Uint8Array) {
    if (id.length !== bytes) return undefined
    // one flat string from char codes: appending pairs of digits would leave a rope of small
    // strings behind each id, which costs memory for as long as the span is held
    hexCodes.length = bytes * 2
    for (let i = 0; i < bytes; i++) {
      hexCodes[2 * i] = HEX_DIGITS.charCodeAt(id[i]! >> 4)
      hexCodes[2 * i + 1] = HEX_DIGITS.charCodeAt(id[i]! & 15)
    }
    hex = String.fromCharCode(...hexCodes)
  } else return undefined
  return /^0+$/.test(hex) ? undefined : hex
}

/** Nanoseconds since the epoch as milliseconds (a double: about 0.25 µs of precision today). */
export function nanosToMs(v: OtlpInt64 | null | undefined): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'number') return v / 1e6
  if (typeof v === 'bigint') return Number(v) / 1e6
  if (typeof v === 'string') {
    const n = Number(v)
    return Number.isFinite(n) ? n / 1e6 : 0
  }
  return typeof v.low === 'number' && typeof v.high === 'number'
    ? ((v.high >>> 0) * 2 ** 32 + (v.low >>> 0)) / 1e6
    : 0
}

/** end - start in ms, exact to the nanosecond for a Long pair (a short span keeps its precision). */
function durationMs(start: OtlpInt64 | null | undefined, end: OtlpInt64 | null | undefined): number {
  let d: number
  if (start && end && typeof start === 'object' && typeof end === 'object')
    d = ((end.high >>> 0) - (start.high >>> 0)) * 2 ** 32 + ((end.low >>> 0) - (start.low >>> 0))
  else if (typeof start === 'string' && typeof end === 'string' && /^\d+$/.test(start) && /^\d+$/.test(end))
    d = Number(BigInt(end) - BigInt(start))
  else d = (nanosToMs(end) - nanosToMs(start)) * 1e6
  return d > 0 ? d / 1e6 : 0
}

/**
 * Keeps one copy of each short string that repeats (attribute keys, span names, services, values
 * such as 'GET'): a decoder makes a new string for every occurrence, and 100,000 spans of ten
 * attributes hold a million of them. Bounded: when full it starts again, so unique values (ids,
 * URLs) cannot grow it for ever.
 */
export class Interner {
  private readonly seen = new Map<string, string>()
  constructor(
    private readonly max = 50_000,
    private readonly maxLength = 64,
  ) {}
  get(s: string): string {
    if (s.length > this.maxLength) return s
    const known = this.seen.get(s)
    if (known !== undefined) return known
    if (this.seen.size >= this.max) this.seen.clear()
    this.seen.set(s, s)
    return s
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const list = <T>(v: T[] | null | undefined): readonly T[] => (Array.isArray(v) ? v : EMPTY)

function toAttributeValue(
  v: OtlpAnyValue | null | undefined,
  intern: Interner,
): string | number | boolean | undefined {
  if (!v || typeof v !== 'object') return undefined
  if (typeof v.stringValue === 'string') return intern.get(v.stringValue)
  if (typeof v.boolValue === 'boolean') return v.boolValue
  if (v.intValue !== null && v.intValue !== undefined) {
    const i = v.intValue
    if (typeof i === 'number') return i
    if (typeof i === 'object' && typeof i.low === 'number' && typeof i.high === 'number') {
      // a Long from protobufjs: two's complement halves; outside 2^53 it stays a string
      const n = (i.high | 0) * 2 ** 32 + (i.low >>> 0)
      return Number.isSafeInteger(n)
        ? n
        : BigInt.asIntN(64, (BigInt(i.high >>> 0) << 32n) | BigInt(i.low >>> 0)).toString()
    }
    const n = Number(i)
    return Number.isSafeInteger(n) ? n : String(i)
  }
  if (typeof v.doubleValue === 'number') return v.doubleValue
  if (v.doubleValue !== null && v.doubleValue !== undefined) return Number(v.doubleValue) // JSON: "NaN", "Infinity"
  if (v.arrayValue)
    return JSON.stringify(list(v.arrayValue.values).map((x) => toAttributeValue(x, intern) ?? null))
  if (v.bytesValue instanceof Uint8Array) return bytesToBase64(v.bytesValue)
  if (typeof v.bytesValue === 'string') return v.bytesValue // OTLP/JSON: already base64
  return undefined
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
function bytesToBase64(b: Uint8Array): string {
  let out = ''
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0)
    out += B64[n >> 18]! + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=')
    out += i + 2 < b.length ? B64[n & 63] : '='
  }
  return out
}

/** Flattens OTLP key-values: a nested map's keys are joined with dots ({http: {method}} -> http.method). */
export function toAttributes(
  kvs: OtlpKeyValue[] | null | undefined,
  intern = new Interner(),
  into: Attributes = {},
  prefix = '',
): Attributes {
  for (const kv of list(kvs)) {
    if (!kv || typeof kv.key !== 'string') continue
    const key = intern.get(prefix + kv.key)
    const v = kv.value
    if (v && typeof v === 'object' && v.kvlistValue)
      toAttributes(v.kvlistValue.values, intern, into, key + '.')
    else {
      const value = toAttributeValue(v, intern)
      if (value !== undefined) into[key] = value
    }
  }
  return into
}

function toEnum(v: number | string | null | undefined, names: Record<string, number>, size: number): number {
  const n = typeof v === 'string' ? (names[v] ?? Number(v)) : (v ?? 0)
  return Number.isInteger(n) && n >= 0 && n < size ? n : 0
}
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 }

function toLinks(links: NonNullable<OtlpSpan['links']>, intern: Interner): SpanLink[] {
  const out: SpanLink[] = []
  for (const l of list(links)) {
    const traceId = toHexId(l?.traceId, 16)
    const spanId = toHexId(l?.spanId, 8)
    if (traceId && spanId) out.push({ traceId, spanId, attributes: toAttributes(l.attributes, intern) })
  }
  return out
}

export interface ConvertedSpans {
  spans: Span[]
  /** spans refused for an id that is missing or malformed (OTLP's partial success) */
  rejected: number
  /** why the first refused span was refused */
  rejectedReason?: string
}

/** The spans of an ExportTraceServiceRequest, with service.name taken from each resource. */
export function toSpans(request: OtlpTraceRequest, intern = new Interner()): ConvertedSpans {
  const spans: Span[] = []
  let rejected = 0
  let rejectedReason: string | undefined
  for (const rs of list(request.resourceSpans)) {
    if (!rs || typeof rs !== 'object') continue
    const resource = toAttributes(rs.resource?.attributes, intern)
    const svc = resource['service.name']
    const service = intern.get(typeof svc === 'string' && svc !== '' ? svc : 'unknown_service')
    for (const ss of list(rs.scopeSpans)) {
      if (!ss || typeof ss !== 'object') continue
      const scope = intern.get(str(ss.scope?.name))
      for (const s of list(ss.spans)) {
        if (!s || typeof s !== 'object') continue
        const traceId = toHexId(s.traceId, 16)
        const spanId = toHexId(s.spanId, 8)
        if (!traceId || !spanId) {
          rejected++
          rejectedReason ??= `span ${JSON.stringify(str(s.name))} has ${traceId ? 'no valid spanId (8 bytes)' : 'no valid traceId (16 bytes)'}`
          continue
        }
        // every field in one literal, in one order: all spans share one shape, held in-object
        const message = str(s.status?.message)
        const span: Span = {
          traceId,
          spanId,
          parentSpanId: toHexId(s.parentSpanId, 8),
          name: intern.get(str(s.name)),
          service,
          scope,
          kind: KINDS[toEnum(s.kind, KIND_NAMES, KINDS.length)]!,
          startMs: nanosToMs(s.startTimeUnixNano),
          durationMs: durationMs(s.startTimeUnixNano, s.endTimeUnixNano),
          status: STATUSES[toEnum(s.status?.code, STATUS_NAMES, STATUSES.length)]!,
          statusMessage: message || undefined,
          attributes: toAttributes(s.attributes, intern),
          resource,
          events:
            Array.isArray(s.events) && s.events.length
              ? s.events.map((e) => ({
                  name: intern.get(str(e?.name)),
                  timeMs: nanosToMs(e?.timeUnixNano),
                  attributes: toAttributes(e?.attributes, intern),
                }))
              : EMPTY,
          links: Array.isArray(s.links) && s.links.length ? toLinks(s.links, intern) : EMPTY,
        }
        spans.push(span)
      }
    }
  }
  return rejectedReason === undefined ? { spans, rejected } : { spans, rejected, rejectedReason }
}
