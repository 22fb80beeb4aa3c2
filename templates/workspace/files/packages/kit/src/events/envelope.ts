import { randomUUID } from 'node:crypto'
import { randomHex } from '../ids.js'

/**
 * The envelope every event travels in (CloudEvents-style attribute names): the data is the
 * payload msvc.yaml's catalog describes; the rest says what happened, where and when.
 */
export interface EventEnvelope<T = unknown> {
  specversion: '1.0'
  /** unique per event; JetStream deduplicates publishes by it and subscribers by it */
  id: string
  /** the catalog's type, `order.created` */
  type: string
  /** the publishing service, `/shop/order` */
  source: string
  /** ISO 8601, when the publisher created it */
  time: string
  /** W3C trace context of the work that produced the event */
  traceparent: string
  datacontenttype: 'application/json'
  data: T
}

/** A payload schema as msvc.yaml writes it: field -> `string`, `number`, `integer`, `boolean`, with `?` for optional. */
export type EventSchema = Readonly<Record<string, string>>

const EVENT_TYPE = /^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)+$/
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/** Undefined when `type` is lowercase.dotted (`order.created`), else what is wrong. */
export function checkEventType(type: string): string | undefined {
  return EVENT_TYPE.test(type)
    ? undefined
    : `event type "${type}" is not lowercase.dotted (for example order.created)`
}

/** Subject names, all derived from the workspace: one stream per workspace holds them all. */
export const subjects = {
  stream: (workspace: string) => `${workspace}-events`,
  event: (workspace: string, type: string) => `${workspace}.events.${type}`,
  allEvents: (workspace: string) => `${workspace}.events.>`,
  deadLetter: (workspace: string, service: string, type: string) => `${workspace}.dlq.${service}.${type}`,
  allDeadLetters: (workspace: string) => `${workspace}.dlq.>`,
  /** durable consumer of one service for one event type (names may not hold dots) */
  durable: (service: string, type: string) => `${service}--${type.replaceAll('.', '_')}`,
}

const newSpanId = () => randomHex(8)

/** A new W3C traceparent (version 00, sampled) for work that did not arrive with one. */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${newSpanId()}-01`
}

/** Keeps the trace id of `parent` (when valid) under a new span id, so the event joins the trace. */
export function childTraceparent(parent?: string): string {
  if (!parent || !TRACEPARENT.test(parent)) return newTraceparent()
  const [version, traceId, , flags] = parent.split('-')
  return `${version}-${traceId}-${newSpanId()}-${flags}`
}

export function createEnvelope<T>(
  type: string,
  source: string,
  data: T,
  opts: { traceparent?: string; id?: string; now?: Date } = {},
): EventEnvelope<T> {
  return {
    specversion: '1.0',
    id: opts.id ?? randomUUID(),
    type,
    source,
    time: (opts.now ?? new Date()).toISOString(),
    traceparent: childTraceparent(opts.traceparent),
    datacontenttype: 'application/json',
    data,
  }
}

/** Reads an envelope off the wire; throws with the reason when it is not one. */
export function parseEnvelope(bytes: Uint8Array | string): EventEnvelope {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes)
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new Error('event is not valid JSON')
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('event is not a JSON object')
  const e = v as Record<string, unknown>
  for (const field of ['id', 'type', 'source', 'time'] as const)
    if (typeof e[field] !== 'string' || e[field] === '') throw new Error(`event has no ${field}`)
  if (!('data' in e)) throw new Error('event has no data')
  return e as unknown as EventEnvelope
}

/** A field's type in the catalog: a scalar, `{field:type,...}`, either with `[]`; `?` optional. */
type FieldType =
  | { kind: 'scalar'; name: string }
  | { kind: 'array'; of: FieldType }
  | { kind: 'object'; fields: { name: string; type: FieldType; optional: boolean }[] }

const parsedTypes = new Map<string, { type: FieldType; optional: boolean }>()

/** Parses a catalog type once (`'{sku:string,quantity:integer}[]?'`); msvc checked the grammar. */
function typeOf(text: string): { type: FieldType; optional: boolean } {
  let cached = parsedTypes.get(text)
  if (!cached) {
    const t = text.trim()
    const optional = t.endsWith('?')
    cached = { type: parseType(optional ? t.slice(0, -1).trim() : t), optional }
    parsedTypes.set(text, cached)
  }
  return cached
}

function parseType(text: string): FieldType {
  if (text.endsWith('[]')) return { kind: 'array', of: parseType(text.slice(0, -2).trim()) }
  if (!text.startsWith('{')) return { kind: 'scalar', name: text }
  const fields: { name: string; type: FieldType; optional: boolean }[] = []
  let depth = 0
  let start = 1
  const inner = text.slice(0, -1)
  for (let i = 1; i <= inner.length; i++) {
    const ch = inner[i]
    if (ch === '{') depth++
    else if (ch === '}') depth--
    else if ((ch === ',' && depth === 0) || i === inner.length) {
      const part = inner.slice(start, i).trim()
      start = i + 1
      if (!part) continue
      const colon = part.indexOf(':')
      let t = part.slice(colon + 1).trim()
      const optional = t.endsWith('?')
      if (optional) t = t.slice(0, -1).trim()
      fields.push({ name: part.slice(0, colon).trim(), type: parseType(t), optional })
    }
  }
  return { kind: 'object', fields }
}

/** The problems of `value` against `type`, named by their path (`items[1].sku`). */
function check(value: unknown, type: FieldType, at: string, allowUnknown: boolean, problems: string[]): void {
  if (type.kind === 'scalar') {
    const ok =
      type.name === 'integer'
        ? Number.isInteger(value)
        : type.name === 'number'
          ? typeof value === 'number' && Number.isFinite(value)
          : typeof value === type.name
    if (!ok)
      problems.push(
        `${at} must be ${type.name === 'integer' ? 'an' : 'a'} ${type.name}, got ${describe(value)}`,
      )
    return
  }
  if (type.kind === 'array') {
    if (!Array.isArray(value)) return void problems.push(`${at} must be an array, got ${describe(value)}`)
    value.forEach((v, i) => check(v, type.of, `${at}[${i}]`, allowUnknown, problems))
    return
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return void problems.push(`${at} must be an object, got ${describe(value)}`)
  checkFields(value as Record<string, unknown>, type.fields, `${at}.`, allowUnknown, problems)
}

function checkFields(
  obj: Record<string, unknown>,
  fields: { name: string; type: FieldType; optional: boolean }[],
  prefix: string,
  allowUnknown: boolean,
  problems: string[],
): void {
  for (const f of fields) {
    const value = obj[f.name]
    if (value === undefined) {
      if (!f.optional) problems.push(`${prefix}${f.name} is required`)
      continue
    }
    check(value, f.type, `${prefix}${f.name}`, allowUnknown, problems)
  }
  if (!allowUnknown)
    for (const name of Object.keys(obj))
      if (!fields.some((f) => f.name === name)) problems.push(`${prefix}${name} is not a field of this event`)
}

/**
 * Checks `data` against its catalog schema; returns the problems (empty when valid). Fields may be
 * objects and arrays (`items: '{sku:string,quantity:integer}[]'`). `allowUnknown` lets
 * subscribers accept fields added by a newer publisher.
 */
export function validatePayload(schema: EventSchema, data: unknown, allowUnknown = false): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return ['payload must be a JSON object']
  const problems: string[] = []
  const fields = Object.entries(schema).map(([name, text]) => ({ name, ...typeOf(text) }))
  checkFields(data as Record<string, unknown>, fields, '', allowUnknown, problems)
  return problems
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : JSON.stringify(v))

/**
 * Validates a broker URL (NATS_URL): nats:// or tls://, a host, a port.
 * Throws with a message that names the value, so a typo fails at start, not at the first publish.
 */
export function parseNatsUrl(raw: string): string {
  const servers = raw.split(',').map((s) => s.trim())
  for (const s of servers) {
    let u: URL
    try {
      u = new URL(s)
    } catch {
      throw new Error(`broker URL ${JSON.stringify(s)} is not a URL; expected nats://host:4222`)
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:')
      throw new Error(`broker URL ${JSON.stringify(s)} must start with nats:// or tls://`)
    if (!u.hostname) throw new Error(`broker URL ${JSON.stringify(s)} has no host`)
  }
  return servers.join(',')
}

/** Delay before the next delivery after `deliveries` failed ones: doubling from `baseMs`, capped, with jitter. */
export function redeliveryDelay(
  deliveries: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, deliveries - 1))
  return Math.round(exp / 2 + (random() * exp) / 2)
}
