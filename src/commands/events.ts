import type { Ctx } from '../context.js'
import {
  buildCatalog,
  checkEventArg,
  EVENT_NAMES,
  formatSchema,
  toDeadLetterRow,
  type DeadLetterRow,
} from '../core/events/catalog.js'
import { checkServiceName } from '../core/workspace/names.js'
import { UserError } from '../errors.js'
import { connectBroker, hasStream, readSubject, tailSubject, type Broker } from '../io/events.js'
import { loadWorkspace } from '../io/workspace.js'

/** The NATS port `msvc up` publishes on 127.0.0.1. */
export const DEFAULT_SERVER = 'nats://127.0.0.1:4222'

export interface EventsCliOptions {
  json?: boolean
}

/** `msvc events`: the catalog, and warnings about events that go nowhere or come from nowhere. */
export async function runEvents(opts: EventsCliOptions, ctx: Ctx): Promise<void> {
  const { workspace } = await loadWorkspace(ctx.cwd)
  const catalog = buildCatalog(workspace)
  if (opts.json) return ctx.ui.json(catalog)
  if (catalog.events.length === 0) {
    ctx.ui.info(
      'the event catalog is empty; add one with: msvc add <service> --events --publishes order.created',
    )
    return
  }
  ctx.ui.table(
    catalog.events.map((e) => [
      e.type,
      formatSchema(e.schema),
      e.publishers.join(',') || '-',
      e.subscribers.join(',') || '-',
    ]),
    ['TYPE', 'SCHEMA', 'PUBLISHERS', 'SUBSCRIBERS'],
  )
  for (const w of catalog.warnings) ctx.ui.warn(w.message, w.hint)
}

export interface TailCliOptions {
  server?: string
  json?: boolean
  /** stop after this many events */
  count?: string
}

/** `msvc events tail <type>`: live events of a running stack, until Ctrl-C (or --count). */
export async function runEventsTail(type: string, opts: TailCliOptions, ctx: Ctx): Promise<void> {
  const { workspace } = await loadWorkspace(ctx.cwd)
  const problem = checkEventArg(workspace, type)
  if (problem) throw new UserError(problem.message, problem.hint)
  const count = parseCount(opts.count)
  const broker = await connectBroker(opts.server ?? DEFAULT_SERVER)
  const ac = new AbortController()
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  try {
    const stream = await requireStream(broker, workspace.name, opts.server ?? DEFAULT_SERVER)
    ctx.ui.info(`waiting for ${type} on ${EVENT_NAMES.subject(workspace.name, type)} (Ctrl-C to stop)`)
    let seen = 0
    await tailSubject(
      broker,
      stream,
      EVENT_NAMES.subject(workspace.name, type),
      (m) => {
        if (opts.json) ctx.ui.data(m.data)
        else ctx.ui.data(formatEventLine(m.data, m.time))
        if (count !== undefined && ++seen >= count) ac.abort()
      },
      ac.signal,
    )
  } finally {
    process.off('SIGINT', stop)
    await broker.close()
  }
}

export interface DlqCliOptions {
  server?: string
  json?: boolean
  replay?: boolean
  service?: string
  type?: string
  dryRun?: boolean
}

/**
 * `msvc events dlq`: the dead-lettered events with the error that put them there. `--replay`
 * publishes each one again (same event id) on its subject and removes it from the dead letters.
 */
export async function runEventsDlq(opts: DlqCliOptions, ctx: Ctx): Promise<void> {
  const { workspace } = await loadWorkspace(ctx.cwd)
  if (opts.type) {
    const problem = checkEventArg(workspace, opts.type)
    if (problem) throw new UserError(problem.message, problem.hint)
  }
  if (opts.service) {
    const why = checkServiceName(opts.service)
    if (why || !workspace.services[opts.service])
      throw new UserError(
        `no service ${JSON.stringify(opts.service)} in msvc.yaml`,
        `services: ${Object.keys(workspace.services).sort().join(', ') || '(none)'}`,
      )
  }
  const server = opts.server ?? DEFAULT_SERVER
  const broker = await connectBroker(server)
  try {
    const stream = await requireStream(broker, workspace.name, server)
    const subject = EVENT_NAMES.deadLetters(workspace.name, opts.service, opts.type)
    const rows = (await readSubject(broker, stream, subject)).map((m) =>
      toDeadLetterRow(workspace.name, m.subject, m.seq, m.data),
    )
    if (!opts.replay) {
      if (opts.json) return ctx.ui.json({ stream, deadLetters: rows })
      if (rows.length === 0) return ctx.ui.info('no dead-lettered events')
      ctx.ui.table(
        rows.map((r) => [
          String(r.seq),
          r.service,
          r.type,
          r.eventId,
          String(r.deliveries),
          r.failedAt,
          r.error,
        ]),
        ['SEQ', 'SERVICE', 'TYPE', 'EVENT', 'DELIVERIES', 'FAILED AT', 'ERROR'],
      )
      ctx.ui.info(`${rows.length} dead-lettered; replay them with: msvc events dlq --replay`)
      return
    }
    const replayed = await replay(broker, stream, workspace.name, rows, opts.dryRun === true)
    if (opts.json) return ctx.ui.json({ stream, replayed: replayed.done, skipped: replayed.skipped })
    for (const r of replayed.skipped) ctx.ui.warn(`seq ${r.seq}: no event to replay (${r.error})`)
    ctx.ui.success(
      `${opts.dryRun ? 'would replay' : 'replayed'} ${replayed.done.length} event${replayed.done.length === 1 ? '' : 's'}`,
    )
  } finally {
    await broker.close()
  }
}

async function replay(broker: Broker, stream: string, ws: string, rows: DeadLetterRow[], dryRun: boolean) {
  const done: { seq: number; eventId: string; type: string }[] = []
  const skipped: DeadLetterRow[] = []
  for (const r of rows) {
    if (!r.event || !r.type) {
      skipped.push(r)
      continue
    }
    if (!dryRun) {
      // same event id (subscribers that handled it skip it); a fresh broker msg id, or the
      // publish would be dropped as a duplicate of the original within the dedup window
      await broker.js.publish(EVENT_NAMES.subject(ws, r.type), JSON.stringify(r.event), {
        msgID: `replay:${r.eventId}:${r.seq}`,
      })
      await broker.jsm.streams.deleteMessage(stream, r.seq, false)
    }
    done.push({ seq: r.seq, eventId: r.eventId, type: r.type })
  }
  return { done, skipped }
}

async function requireStream(broker: Broker, ws: string, server: string): Promise<string> {
  const stream = EVENT_NAMES.stream(ws)
  if (!(await hasStream(broker, stream)))
    throw new UserError(
      `the broker at ${server} has no stream ${stream} for workspace ${ws}`,
      'start the stack with `msvc up` (services create the stream when they connect), or pass --server',
    )
  return stream
}

function parseCount(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1)
    throw new UserError(`--count must be a positive integer, got ${JSON.stringify(raw)}`)
  return n
}

/** One line per event: time, type, id, source and the data as JSON. */
export function formatEventLine(text: string, storedAt: string): string {
  try {
    const e = JSON.parse(text) as {
      id?: string
      type?: string
      source?: string
      time?: string
      data?: unknown
    }
    return `${e.time ?? storedAt}  ${e.type ?? '?'}  ${e.id ?? '?'}  ${e.source ?? '?'}  ${JSON.stringify(e.data)}`
  } catch {
    return `${storedAt}  (not an event envelope)  ${text.slice(0, 200)}`
  }
}
