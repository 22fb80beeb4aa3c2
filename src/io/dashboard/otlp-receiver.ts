/**
 * The dashboard's OTLP/HTTP receiver (issue #18): POST /v1/traces and /v1/logs, as the stack's
 * services export them, into a SpanStore (core/dashboard/spans.ts). Both OTLP encodings
 * (application/x-protobuf and OTLP/JSON), gzip or not, a body limit, and a source allow-list:
 * loopback and the stack's network only.
 *
 * Decoding protobuf: with the protobufjs module that the OpenTelemetry JS project generated from
 * the official opentelemetry-proto files, as shipped in @opentelemetry/otlp-transformer 0.214.0
 * (build/src/generated/root.js), pinned exactly. Checked first (npm view, npm pack): no npm package
 * ships the current .proto files (the last, @opentelemetry/exporter-otlp-grpc 0.26, has 2021's);
 * otlp-transformer 0.215+ writes traces with its own encoder and keeps no decoder for requests
 * (0.214.0 is the last with ExportTraceServiceRequest and ExportLogsServiceRequest in its root);
 * and 0.300+ needs Node 22. So the message definitions come from the project that owns OTLP in JS,
 * the decoding from protobufjs (well kept, and among the fastest JS decoders), and nothing here
 * parses protobuf by hand. OTLP's wire format is stable (v1): fields newer than the pin are skipped
 * as unknown fields, which only matters if the dashboard starts showing one of them. The tests
 * export with the current SDK exporters (0.223, their own encoder), not with this code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import { gunzip } from 'node:zlib'
import otlpRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js'
import { UserError } from '../../errors.js'
import { Interner, toSpans, type OtlpTraceRequest } from '../../core/dashboard/otlp.js'
import type { SpanStore } from '../../core/dashboard/spans.js'

/** The OTLP/HTTP port (the OpenTelemetry SDKs' default endpoint is http://localhost:4318). */
export const DEFAULT_OTLP_PORT = 4318
/** The largest body taken, on the wire and after gunzip: an SDK's batch of 512 spans is ~200 KB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

/**
 * Node's flags for the process that holds the receiver (the dashboard's). Decoding leaves ~2 KB
 * of garbage a span, and from Node 22 on V8 sizes its young generation from the machine's memory:
 * 64 MB semi-spaces on a 24 GB machine, which put the receiver at 265 MB of RSS with a full store
 * at 5,000 spans/s (Node 20: 16 MB semi-spaces). With 8 MB semi-spaces it held ~150 MB on Node 20
 * and ~170 MB on Node 24, at no cost in CPU a span that we could measure (bench/otlp-receiver.mjs;
 * issue #18 asks for under 200 MB).
 */
export const RECEIVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']

interface MessageType {
  decode(body: Uint8Array): unknown
  encode(message: object): { finish(): Uint8Array }
}
type Collector = Record<'trace' | 'logs', { v1: Record<string, MessageType | undefined> } | undefined>
const collector = (otlpRoot as unknown as { opentelemetry?: { proto?: { collector?: Collector } } })
  .opentelemetry?.proto?.collector

function messageType(signal: 'trace' | 'logs', name: string): MessageType {
  const t = collector?.[signal]?.v1[name]
  if (!t) throw new Error(`@opentelemetry/otlp-transformer has no ${name}: is it still version 0.214.0?`)
  return t
}

const SIGNALS = {
  '/v1/traces': {
    request: messageType('trace', 'ExportTraceServiceRequest'),
    response: messageType('trace', 'ExportTraceServiceResponse'),
    top: 'resourceSpans',
    what: 'ExportTraceServiceRequest',
    rejectedField: 'rejectedSpans',
  },
  '/v1/logs': {
    request: messageType('logs', 'ExportLogsServiceRequest'),
    response: messageType('logs', 'ExportLogsServiceResponse'),
    top: 'resourceLogs',
    what: 'ExportLogsServiceRequest',
    rejectedField: 'rejectedLogRecords',
  },
} as const
type Signal = (typeof SIGNALS)[keyof typeof SIGNALS]

export interface OtlpReceiverOptions {
  store: SpanStore
  /** the address to listen on (default 127.0.0.1) */
  host?: string
  /** default 4318; 0 lets the system choose */
  port?: number
  /** CIDR blocks, besides loopback, allowed to export: the stack's Docker network (172.18.0.0/16) */
  allow?: readonly string[]
  /** accept loopback sources (default true); false leaves only `allow` (tests, a stack-only receiver) */
  allowLoopback?: boolean
  /** the largest body, compressed or not (default 16 MiB): larger gets 413 */
  maxBodyBytes?: number
}

/** What the receiver has seen since it started. */
export interface OtlpReceiverStats {
  /** requests answered 200 */
  exports: number
  spans: number
  /** spans refused for a bad id (OTLP partial success) */
  rejectedSpans: number
  /** log records received: counted, not kept yet */
  logRecords: number
  /** requests refused, by HTTP status */
  refused: Record<number, number>
}

export interface OtlpHandler {
  /** Serves the request if its path is /v1/traces or /v1/logs (then returns true); else returns false. */
  handle(req: IncomingMessage, res: ServerResponse): boolean
  readonly stats: OtlpReceiverStats
}

export interface OtlpReceiver extends OtlpHandler {
  server: Server
  host: string
  port: number
  /** http://host:port, what OTEL_EXPORTER_OTLP_ENDPOINT takes */
  url: string
  close(): Promise<void>
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Reads a CIDR block (or a bare address, a block of one); a malformed one is a UserError. */
export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits, extra] = cidr.trim().split('/')
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined
  const max = family === 'ipv4' ? 32 : 128
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
  if (!family || extra !== undefined || !(prefix >= 0 && prefix <= max))
    throw new UserError(
      `${JSON.stringify(cidr)} is not a CIDR block`,
      'write an address and a prefix length, such as 172.18.0.0/16',
    )
  return { address, prefix, family }
}

/**
 * A predicate on a request's source address: loopback (unless allowLoopback is false) and the
 * addresses of the `allow` blocks. An IPv4 address seen through an IPv6 socket (::ffff:a.b.c.d)
 * is judged as IPv4.
 */
export function createSourceFilter(
  allow: readonly string[] = [],
  allowLoopback = true,
): (address: string | undefined) => boolean {
  const list = new BlockList()
  if (allowLoopback) {
    list.addSubnet('127.0.0.0', 8, 'ipv4')
    list.addAddress('::1', 'ipv6')
  }
  for (const cidr of allow) {
    const { address, prefix, family } = parseCidr(cidr)
    list.addSubnet(address, prefix, family)
  }
  return (address) => {
    if (!address) return false
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
    if (isIPv4(v4)) return list.check(v4, 'ipv4')
    return isIPv6(address) && list.check(address, 'ipv6')
  }
}

/** The OTLP request handler, for a server of the receiver's own or a larger one (the dashboard's). */
export function createOtlpHandler(options: Omit<OtlpReceiverOptions, 'host' | 'port'>): OtlpHandler {
  const isAllowed = createSourceFilter(options.allow, options.allowLoopback ?? true)
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const store = options.store
  // one interner for every request: a stack's attribute keys, span names and services repeat
  const intern = new Interner()
  const stats: OtlpReceiverStats = { exports: 0, spans: 0, rejectedSpans: 0, logRecords: 0, refused: {} }

  const refuse = (res: ServerResponse, status: number, message: string, close = false) => {
    stats.refused[status] = (stats.refused[status] ?? 0) + 1
    if (res.headersSent) return void res.destroy()
    // errors are one line of text: OTLP suggests a google.rpc.Status, which the SDKs only log
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      ...(status === 405 ? { allow: 'POST' } : {}),
      ...(close ? { connection: 'close' } : {}),
    })
    res.end(`${message}\n`)
  }

  async function serve(req: IncomingMessage, res: ServerResponse, signal: Signal): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const json = type === 'application/json'
    if (!json && type !== 'application/x-protobuf')
      throw new HttpError(
        415,
        `content-type ${JSON.stringify(type)}: send application/x-protobuf or application/json`,
      )
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
    if (encoding !== 'identity' && encoding !== 'gzip')
      throw new HttpError(415, `content-encoding ${JSON.stringify(encoding)}: send gzip or none`)
    let body = await readBody(req, maxBody)
    if (encoding === 'gzip') body = await gunzipLimited(body, maxBody)

    let request: Record<string, unknown>
    try {
      request = json
        ? parseJsonRequest(body, signal)
        : (signal.request.decode(body) as Record<string, unknown>)
    } catch (e) {
      throw new HttpError(
        400,
        `the body is not an OTLP/${json ? 'JSON' : 'protobuf'} ${signal.what}: ${(e as Error).message}`,
      )
    }

    let rejected = 0
    let reason = ''
    if (signal === SIGNALS['/v1/traces']) {
      let converted
      try {
        converted = toSpans(request as OtlpTraceRequest, intern)
      } catch (e) {
        // only a pathological body gets here: attribute maps nested deeper than the stack
        throw new HttpError(400, `the ${signal.what} could not be read: ${(e as Error).message}`)
      }
      store.add(converted.spans)
      stats.spans += converted.spans.length
      stats.rejectedSpans += rejected = converted.rejected
      reason = converted.rejectedReason ?? ''
    } else stats.logRecords += countLogRecords(request)

    stats.exports++
    // the answer is in the request's encoding; OTLP/JSON writes 64-bit integers as decimal strings
    const partial = (n: number | string) =>
      rejected ? { partialSuccess: { [signal.rejectedField]: n, errorMessage: reason } } : {}
    if (json)
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(partial(String(rejected))))
    else
      res
        .writeHead(200, { 'content-type': 'application/x-protobuf' })
        .end(signal.response.encode(partial(rejected)).finish())
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const q = req.url?.indexOf('?') ?? -1
    const path = q < 0 ? req.url : req.url!.slice(0, q)
    const signal = path === '/v1/traces' || path === '/v1/logs' ? SIGNALS[path] : undefined
    if (!signal) return false
    if (!isAllowed(req.socket.remoteAddress)) {
      refuse(
        res,
        403,
        `${req.socket.remoteAddress ?? 'this address'} may not export to msvc's dashboard`,
        true,
      )
      return true
    }
    if (req.method !== 'POST') {
      refuse(res, 405, `${req.method} ${path}: OTLP exports are POSTs`)
      return true
    }
    serve(req, res, signal).catch((e: unknown) => {
      if (e instanceof HttpError) refuse(res, e.status, e.message, e.status === 413)
      else refuse(res, 500, `the receiver failed: ${(e as Error).message}`)
    })
    return true
  }

  return { handle, stats }
}

/** Starts the receiver on host:port (127.0.0.1:4318 by default); a busy port is a UserError. */
export async function startOtlpReceiver(options: OtlpReceiverOptions): Promise<OtlpReceiver> {
  const host = options.host ?? '127.0.0.1'
  const handler = createOtlpHandler(options)
  const server = createServer((req, res) => {
    if (!handler.handle(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  // SDKs keep their connection open between exports (keep-alive): longer than their 5 s batches
  server.keepAliveTimeout = 65_000
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = `${host}:${options.port ?? DEFAULT_OTLP_PORT}`
      if (e.code === 'EADDRINUSE')
        reject(
          new UserError(
            `the OTLP receiver's port ${where} is in use`,
            'stop what listens there, or choose another port',
          ),
        )
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES')
        reject(
          new UserError(
            `the OTLP receiver cannot listen on ${where} (${e.code})`,
            'choose another address or port',
          ),
        )
      else reject(e)
    })
    server.listen(options.port ?? DEFAULT_OTLP_PORT, host, () => {
      const a = server.address()
      resolve(typeof a === 'object' && a ? a.port : 0)
    })
  })
  const urlHost = isIPv6(host) ? `[${host}]` : host
  return {
    ...handler,
    server,
    host,
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The body, at most `max` bytes: a declared or actual length beyond it is a 413. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > max) return Promise.reject(tooLarge(max))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        req.removeAllListeners('data')
        reject(tooLarge(max))
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    req.on('error', reject)
  })
}

const tooLarge = (max: number) => new HttpError(413, `the body is larger than ${max} bytes`)

/** gunzip, refusing (413) a body that inflates past `max`: a small gzip bomb must not fill memory. */
function gunzipLimited(body: Buffer, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    gunzip(body, { maxOutputLength: max }, (err, out) => {
      if (!err) resolve(out)
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        reject(new HttpError(413, `the body inflates to more than ${max} bytes`))
      else reject(new HttpError(400, `the body is not valid gzip: ${err.message}`))
    }),
  )
}

/** OTLP/JSON: an object whose resourceSpans (or resourceLogs), if there, is an array. */
function parseJsonRequest(body: Buffer, signal: Signal): Record<string, unknown> {
  const parsed: unknown = JSON.parse(body.toString('utf8'))
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('expected a JSON object')
  const top = (parsed as Record<string, unknown>)[signal.top]
  if (top !== undefined && top !== null && !Array.isArray(top))
    throw new Error(`${signal.top} is not an array`)
  return parsed as Record<string, unknown>
}

function countLogRecords(request: Record<string, unknown>): number {
  let n = 0
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
  for (const rl of arr(request.resourceLogs))
    for (const sl of arr((rl as Record<string, unknown> | null)?.scopeLogs))
      n += arr((sl as Record<string, unknown> | null)?.logRecords).length
  return n
}
