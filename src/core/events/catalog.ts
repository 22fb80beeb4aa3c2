import type { Workspace } from '../workspace/model.js'
import { checkEventType } from '../workspace/names.js'

/** One event type of the catalog, with who publishes and who handles it. */
export interface CatalogEntry {
  type: string
  description?: string
  schema: Record<string, string>
  publishers: string[]
  subscribers: string[]
  /** the JetStream subject it travels on */
  subject: string
}

export interface Catalog {
  stream: string
  events: CatalogEntry[]
  warnings: { type: string; message: string; hint: string }[]
}

/** Names of the workspace's stream and subjects; the kit (packages/kit/src/events) uses the same. */
export const EVENT_NAMES = {
  stream: (ws: string) => `${ws}-events`,
  subject: (ws: string, type: string) => `${ws}.events.${type}`,
  allDeadLetters: (ws: string) => `${ws}.dlq.>`,
  deadLetters: (ws: string, service?: string, type?: string) => `${ws}.dlq.${service ?? '*'}.${type ?? '>'}`,
}

/** The event catalog of msvc.yaml, with a warning for every event that goes nowhere or comes from nowhere. */
export function buildCatalog(ws: Workspace): Catalog {
  const events: CatalogEntry[] = Object.keys(ws.events)
    .sort()
    .map((type) => {
      const e = ws.events[type]!
      const names = Object.keys(ws.services).sort()
      return {
        type,
        ...(e.description ? { description: e.description } : {}),
        schema: e.schema,
        publishers: names.filter((n) => ws.services[n]!.publishes.includes(type)),
        subscribers: names.filter((n) => ws.services[n]!.subscribes.includes(type)),
        subject: EVENT_NAMES.subject(ws.name, type),
      }
    })
  const warnings: Catalog['warnings'] = []
  for (const e of events) {
    if (e.publishers.length && !e.subscribers.length)
      warnings.push({
        type: e.type,
        message: `${e.type} is published by ${e.publishers.join(', ')} but nobody subscribes to it`,
        hint: `add a subscriber: msvc add <service> --events --subscribes ${e.type}`,
      })
    else if (e.subscribers.length && !e.publishers.length)
      warnings.push({
        type: e.type,
        message: `${e.subscribers.join(', ')} subscribe${e.subscribers.length === 1 ? 's' : ''} to ${e.type} but nobody publishes it`,
        hint: `add a publisher: msvc add <service> --events --publishes ${e.type}`,
      })
    else if (!e.subscribers.length && !e.publishers.length)
      warnings.push({
        type: e.type,
        message: `${e.type} is in the catalog but no service publishes or subscribes to it`,
        hint: 'remove it from events: in msvc.yaml, or use it',
      })
  }
  return { stream: EVENT_NAMES.stream(ws.name), events, warnings }
}

/** Checks an event type named on the command line against the catalog; undefined when fine. */
export function checkEventArg(ws: Workspace, type: string): { message: string; hint: string } | undefined {
  const why = checkEventType(type)
  if (why) return { message: why, hint: 'event types are lowercase words joined by dots, e.g. order.created' }
  if (!ws.events[type]) {
    const known = Object.keys(ws.events).sort()
    return {
      message: `event type "${type}" is not in the events catalog of msvc.yaml`,
      hint: known.length
        ? `known types: ${known.join(', ')}`
        : 'the catalog is empty; declare events under events:',
    }
  }
  return undefined
}

/** A schema as one short line: `{ orderId: string, total: number }`. */
export const formatSchema = (schema: Record<string, string>): string => {
  const fields = Object.entries(schema).map(([k, v]) => `${k}: ${v}`)
  return fields.length ? `{ ${fields.join(', ')} }` : '{}'
}

/** What `msvc events dlq` shows of one dead letter (the kit's DeadLetter message), tolerant of foreign messages. */
export interface DeadLetterRow {
  seq: number
  service: string
  type: string
  eventId: string
  deliveries: number
  error: string
  failedAt: string
  /** the original envelope, when the message carries one, for replay */
  event?: { id: string; type: string } & Record<string, unknown>
}

/** Reads one message of the dead-letter subjects; `subject` is `<ws>.dlq.<service>.<type>`. */
export function toDeadLetterRow(ws: string, subject: string, seq: number, text: string): DeadLetterRow {
  const rest = subject.slice(`${ws}.dlq.`.length)
  const dot = rest.indexOf('.')
  const service = dot > 0 ? rest.slice(0, dot) : rest
  const type = dot > 0 ? rest.slice(dot + 1) : ''
  let body: Record<string, unknown> = {}
  try {
    const v: unknown = JSON.parse(text)
    if (v && typeof v === 'object') body = v as Record<string, unknown>
  } catch {
    // not the kit's format: show what the subject says
  }
  const event = body.event as DeadLetterRow['event'] | { raw: string } | undefined
  const isEnvelope = event !== undefined && typeof (event as { id?: unknown }).id === 'string'
  return {
    seq,
    service,
    type,
    eventId: isEnvelope ? (event as { id: string }).id : '-',
    deliveries: typeof body.deliveries === 'number' ? body.deliveries : 0,
    error: typeof body.error === 'string' ? body.error : '(no error recorded)',
    failedAt: typeof body.failedAt === 'string' ? body.failedAt : '',
    ...(isEnvelope ? { event: event as DeadLetterRow['event'] & object } : {}),
  }
}
