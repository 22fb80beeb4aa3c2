// A client span for every query a service sends to PostgreSQL through node-postgres.
import { context, SpanKind, trace } from '@opentelemetry/api'
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions'
import { isTracing, kitTracer, recordError } from '../tracing.js'

/** What traceQueries needs of a node-postgres client (pg.Client, a pool's clients). */
export interface QueryClient {
  query: (...args: never[]) => unknown
  database?: string | undefined
  host?: string
  port?: number
}

type Callback = (err: Error | null, result?: unknown) => void

const WRAPPED = Symbol('kit.tracedQueries')

/**
 * Wraps `client.query` so that each query made while a span is active gets a client span of its
 * own (`SELECT`, `INSERT`, ... : db.operation.name), with db.system.name, the database, the server
 * and db.query.text: the statement's text as sent, with its placeholders ($1, $2), never the values
 * (drizzle and the kit's prepared statements pass every value as a parameter).
 *
 * Why a wrapper here rather than an instrumentation package: the service is bundled into one file
 * with node-postgres inside it, so no `require('pg')` ever happens for a require-hook
 * instrumentation to patch. Queries with no span active (migrations at start, the outbox relay's
 * background polling) make none: they would each be a trace of their own, and the relay's polling
 * alone would fill the dashboard. Without tracing, the query goes straight to the client.
 */
export function traceQueries<C extends QueryClient>(client: C): C {
  const owner = client as C & { [WRAPPED]?: true }
  if (owner[WRAPPED]) return client
  owner[WRAPPED] = true
  const original = client.query as unknown as (...args: unknown[]) => unknown
  const traced = function (this: unknown, ...args: unknown[]): unknown {
    const first = args[0] as string | { text?: string; submit?: unknown } | undefined
    // a Submittable (a cursor, a stream) is driven by its own code: left alone
    if (!isTracing() || (typeof first === 'object' && first !== null && typeof first.submit === 'function'))
      return original.apply(this, args)
    const active = context.active()
    // no span active, or one not sampled: no query span (see isUnsampled)
    if (!trace.getSpan(active)?.isRecording()) return original.apply(this, args)
    const text = typeof first === 'string' ? first : (first?.text ?? '')
    const operation = operationOf(text)
    const span = kitTracer().startSpan(
      operation ?? 'postgresql',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: 'postgresql',
          [ATTR_DB_QUERY_TEXT]: text,
          ...(operation ? { [ATTR_DB_OPERATION_NAME]: operation } : {}),
          ...(client.database ? { [ATTR_DB_NAMESPACE]: client.database } : {}),
          ...(client.host ? { [ATTR_SERVER_ADDRESS]: client.host } : {}),
          ...(client.port ? { [ATTR_SERVER_PORT]: client.port } : {}),
        },
      },
      active,
    )
    const last = args.length - 1
    if (typeof args[last] === 'function') {
      // the callback form (pg.Pool#query uses it)
      const callback = args[last] as Callback
      args[last] = (err: Error | null, result?: unknown) => {
        if (err) recordError(span, err)
        span.end()
        callback(err, result)
      }
      return original.apply(this, args)
    }
    let pending: unknown
    try {
      pending = original.apply(this, args)
    } catch (e) {
      recordError(span, e)
      span.end()
      throw e
    }
    return (pending as Promise<unknown>).then(
      (result) => {
        span.end()
        return result
      },
      (e: unknown) => {
        recordError(span, e)
        span.end()
        throw e
      },
    )
  }
  ;(client as { query: unknown }).query = traced
  return client
}

/** The statement's first keyword in capitals (`SELECT`, `WITH`), or undefined for none. */
function operationOf(text: string): string | undefined {
  const m = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(text)
  return m ? m[1]!.toUpperCase() : undefined
}
