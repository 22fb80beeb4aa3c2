// What the gateway changes in the headers it passes on: hop-by-hop fields out (RFC 9110 §7.6.1),
// Forwarded and X-Forwarded-* in (RFC 7239), the trace context checked (W3C Trace Context).
import { BlockList, isIP } from 'node:net'
import { randomHex } from '../ids.js'
import { PRINCIPAL_HEADERS } from './auth.js'
import { trace } from '@opentelemetry/api'
import { injectContext, isTracing } from '../tracing.js'

/** A header block as node and undici give it: lowercase names, a list for repeated fields. */
export type HeaderFields = Record<string, string | string[] | undefined>

/**
 * Fields meant for one connection only (RFC 9110 §7.6.1), never passed on, in either direction.
 * Also: proxy-authorization and proxy-authenticate, which speak to this gateway and not past it,
 * `trailer` (trailers are not passed on), and `expect`: node has already answered 100-continue, and
 * undici refuses to send it.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
])

/** The header block without its hop-by-hop fields, those `connection` names included, nor `drop`. */
export function endToEnd(
  headers: HeaderFields,
  drop: ReadonlySet<string> = new Set(),
): Record<string, string | string[]> {
  const named = new Set(listOf(headers.connection).map((n) => n.toLowerCase()))
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || drop.has(name)) continue
    out[name] = value
  }
  return out
}

/** The comma-separated items of a field, repeated lines included, trimmed and non-empty. */
function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const lines = Array.isArray(value) ? value : [value]
  return lines.flatMap((line) => line.split(',').map((s) => s.trim())).filter(Boolean)
}

/**
 * The proxies whose Forwarded and X-Forwarded-* headers are believed: IPs or CIDR ranges
 * (`10.0.0.0/8`, `fd00::/8`). Throws on an entry that is neither.
 */
export class TrustedProxies {
  private readonly list = new BlockList()
  readonly empty: boolean

  constructor(entries: readonly string[] = []) {
    this.empty = entries.length === 0
    for (const entry of entries) {
      const [ip = '', bits, ...rest] = entry.trim().split('/')
      const family = isIP(ip)
      const prefix = bits === undefined ? undefined : Number(bits)
      const max = family === 4 ? 32 : 128
      if (
        family === 0 ||
        rest.length > 0 ||
        (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= max))
      )
        throw new Error(`trusted proxy "${entry}" is not an IP address or a CIDR range`)
      const type = family === 4 ? 'ipv4' : 'ipv6'
      if (prefix === undefined) this.list.addAddress(ip, type)
      else this.list.addSubnet(ip, prefix, type)
    }
  }

  /** Whether `ip` (as a socket reports it, an IPv4-mapped IPv6 address included) is trusted. */
  has(ip: string): boolean {
    if (this.empty) return false
    const plain = unmapped(ip)
    const family = isIP(plain)
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6')
  }
}

/** `::ffff:10.0.0.1` (how a dual-stack socket reports an IPv4 peer) as `10.0.0.1`. */
export function unmapped(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
}

/** An X-Forwarded-For item as a bare address: `[::1]:8080` → `::1`, `1.2.3.4:80` → `1.2.3.4`. */
function bareAddress(item: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(item)
  if (bracketed) return bracketed[1]!
  const withPort = /^([\d.]+):\d+$/.exec(item)
  return unmapped(withPort ? withPort[1]! : item)
}

/** What the gateway knows of the connection a request came on. */
export interface Hop {
  /** the direct peer's address (the socket's remote address) */
  peer: string
  /** `http` or `https`, as the request reached the gateway */
  proto: string
  /** the Host the request was sent to, when it had one */
  host: string | undefined
  /** whether the peer is a trusted proxy (then its forwarded headers are kept and added to) */
  trusted: boolean
}

/**
 * The client's address: the peer, or, behind trusted proxies, the rightmost address of
 * X-Forwarded-For that is not a trusted proxy (the leftmost ones are whatever the client wrote).
 * When every hop is trusted, the leftmost.
 */
export function clientIpOf(
  hop: Hop,
  xForwardedFor: string | string[] | undefined,
  trusted: TrustedProxies,
): string {
  const peer = unmapped(hop.peer)
  if (!hop.trusted) return peer
  const chain = listOf(xForwardedFor).map(bareAddress)
  for (let k = chain.length - 1; k >= 0; k--) if (!trusted.has(chain[k]!)) return chain[k]!
  return chain[0] ?? peer
}

/**
 * Forwarded, X-Forwarded-For, -Proto and -Host for the upstream. From a trusted proxy the incoming
 * ones are kept and this hop added (X-Forwarded-Proto and -Host describe the original request, so
 * theirs win); from anyone else they are replaced, since a client can write anything in them.
 */
export function forwardedHeaders(hop: Hop, incoming: HeaderFields): Record<string, string> {
  const peer = unmapped(hop.peer)
  const element = [`for=${forwardedValue(isIP(peer) === 6 ? `[${peer}]` : peer)}`, `proto=${hop.proto}`]
  if (hop.host) element.push(`host=${forwardedValue(hop.host)}`)
  const prior = hop.trusted
    ? {
        forwarded: listOf(incoming.forwarded),
        xff: listOf(incoming['x-forwarded-for']),
        proto: first(incoming['x-forwarded-proto']),
        host: first(incoming['x-forwarded-host']),
      }
    : { forwarded: [], xff: [], proto: undefined, host: undefined }
  const host = prior.host ?? hop.host
  return {
    forwarded: [...prior.forwarded, element.join(';')].join(', '),
    'x-forwarded-for': [...prior.xff, peer].join(', '),
    'x-forwarded-proto': prior.proto ?? hop.proto,
    ...(host ? { 'x-forwarded-host': host } : {}),
  }
}

/** The first item of a field that may have been sent more than once. */
function first(value: string | string[] | undefined): string | undefined {
  return listOf(value)[0]
}

/** RFC 7239 §4: a value that is not a token is a quoted string (IPv6 addresses, `host:port`). */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`
}

/** A W3C traceparent of version 00 with a trace id and a parent id that are not all zeros. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/

/**
 * The trace context to send upstream: the caller's traceparent when it is valid, else a new one
 * (sampled). A new trace drops the caller's tracestate, which belonged to the one refused. With
 * tracing on, the gateway's own span for the request (a child of the caller's) is sent instead, so
 * that the upstream's span sits under the gateway's in the trace.
 */
export function traceContext(incoming: HeaderFields): {
  traceparent: string
  tracestate?: string | string[]
} {
  const span = isTracing() ? trace.getActiveSpan() : undefined
  if (span) {
    const carrier: Record<string, string> = {}
    injectContext(span, carrier)
    if (carrier.traceparent) return carrier as { traceparent: string; tracestate?: string }
  }
  const given = incoming.traceparent
  if (typeof given === 'string' && TRACEPARENT.test(given.trim()))
    return {
      traceparent: given.trim(),
      ...(incoming.tracestate !== undefined ? { tracestate: incoming.tracestate } : {}),
    }
  return { traceparent: `00-${randomHex(16)}-${randomHex(8)}-01` }
}

/**
 * Request fields the gateway always writes itself, so a client's copies never pass: the Host
 * (the upstream's), the request id and trace context (checked, or new), the principal (only a
 * verified token sets it), and the forwarded fields (rebuilt by forwardedHeaders).
 */
const SET_BY_GATEWAY = new Set([
  'host',
  'x-request-id',
  'traceparent',
  'tracestate',
  PRINCIPAL_HEADERS.user,
  PRINCIPAL_HEADERS.roles,
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
])

/** What the gateway adds to a request it passes on. */
export interface UpstreamRequest {
  /** the Host for the upstream: its target's `host:port` */
  host: string
  requestId: string
  /** the verified principal's headers (principalHeaders), none without a token */
  principal: Record<string, string>
  /** whether a body is passed on (else an incoming content-length is dropped) */
  hasBody: boolean
}

/**
 * The request headers for the upstream: the client's end-to-end fields, less those the gateway
 * writes itself (and, from a peer that is not a trusted proxy, every other `x-forwarded-*`), plus
 * the gateway's: Host, forwarded fields, request id, trace context, principal.
 */
export function upstreamRequestHeaders(
  incoming: HeaderFields,
  hop: Hop,
  add: UpstreamRequest,
): Record<string, string | string[]> {
  const headers = endToEnd(incoming, SET_BY_GATEWAY)
  if (!hop.trusted)
    for (const name of Object.keys(headers)) if (name.startsWith('x-forwarded-')) delete headers[name]
  if (!add.hasBody) delete headers['content-length']
  return {
    ...headers,
    host: add.host,
    ...forwardedHeaders(hop, incoming),
    'x-request-id': add.requestId,
    ...traceContext(incoming),
    ...add.principal,
  }
}

/** The upstream's response fields for the client: end-to-end only; the request id stays the gateway's. */
export function clientResponseHeaders(upstream: HeaderFields): Record<string, string | string[]> {
  return endToEnd(upstream, RESPONSE_SET_BY_GATEWAY)
}

const RESPONSE_SET_BY_GATEWAY = new Set(['x-request-id'])
