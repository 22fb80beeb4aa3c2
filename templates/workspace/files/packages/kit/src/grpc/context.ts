import { AsyncLocalStorage } from 'node:async_hooks'
import { Metadata } from '@grpc/grpc-js'
import { randomHex, requestIdFrom } from '../ids.js'

/** What a call carries across services: the request id and the W3C trace context. */
export interface CallContext {
  requestId: string
  /** W3C traceparent of the call being served (`00-<trace-id>-<parent-id>-<flags>`) */
  traceparent?: string
  tracestate?: string
  /** when the caller stops waiting (epoch ms): calls made while serving never outlive it */
  deadlineAt?: number
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

const storage = new AsyncLocalStorage<CallContext>()

/** The context of the call being served, if any: outgoing calls inherit it. */
export const currentCallContext = (): CallContext | undefined => storage.getStore()

/** Runs `fn` with `ctx` as the current call context. */
export const runWithCallContext = <T>(ctx: CallContext, fn: () => T): T => storage.run(ctx, fn)

const firstString = (md: Metadata, key: string): string | undefined => {
  const v = md.get(key)[0]
  return typeof v === 'string' ? v : undefined
}

/** Reads the request id (or makes one) and the trace context from incoming metadata. */
export function readCallContext(md: Metadata): CallContext {
  const traceparent = firstString(md, 'traceparent')
  const tracestate = firstString(md, 'tracestate')
  return {
    requestId: requestIdFrom(firstString(md, 'x-request-id')),
    ...(traceparent && isValidTraceparent(traceparent) ? { traceparent } : {}),
    ...(tracestate ? { tracestate } : {}),
  }
}

export function isValidTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value)
  return m !== null && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!)
}

/**
 * The traceparent of an outgoing call: the same trace id as `parent` with a new parent (span)
 * id, or a new trace when there is no valid parent (W3C Trace Context, level 1).
 */
export function childTraceparent(parent?: string): string {
  const m = parent ? TRACEPARENT.exec(parent) : null
  const spanId = randomHex(8)
  if (m && isValidTraceparent(parent!)) return `00-${m[1]}-${spanId}-${m[3]}`
  return `00-${randomHex(16)}-${spanId}-01`
}

/** Metadata for an outgoing call: request id and trace context, from the options or the current call. */
export function outgoingMetadata(
  opts: {
    requestId?: string
    traceparent?: string
    tracestate?: string
    metadata?: Record<string, string>
  } = {},
): Metadata {
  const ctx = currentCallContext()
  const md = new Metadata()
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v)
  md.set('x-request-id', opts.requestId ?? ctx?.requestId ?? randomHex(16))
  md.set('traceparent', opts.traceparent ?? childTraceparent(ctx?.traceparent))
  const tracestate = opts.tracestate ?? ctx?.tracestate
  if (tracestate) md.set('tracestate', tracestate)
  return md
}
