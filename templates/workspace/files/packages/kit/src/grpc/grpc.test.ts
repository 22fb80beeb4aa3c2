import {
  credentials,
  makeGenericClientConstructor,
  status,
  type ClientUnaryCall,
  type StatusObject,
  type ServerWritableStream,
  type ServiceDefinition,
} from '@grpc/grpc-js'
import { create, toBinary } from '@bufbuild/protobuf'
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  SagaCompensatedError,
  UnavailableError,
  VersionConflictError,
  wasNotSent,
} from '../errors.js'
import { HealthRegistry } from '../health.js'
import { createLogger } from '../logger.js'
import { Metrics } from '../metrics.js'
import { BreakerOpenError } from '../resilience/breaker.js'
import { BulkheadFullError } from '../resilience/bulkhead.js'
import { TimeoutError } from '../resilience/timeout.js'
import { channelTarget, ResilientGrpcClient } from './client.js'
import { currentCallContext } from './context.js'
import { HealthService, SERVING_STATUS } from './health.js'
import { REFLECTION_SERVICES } from './reflection.js'
import { GrpcServer, type UnaryContext } from './server.js'
import { GrpcCallError } from './status.js'

// A real grpc-js server on 127.0.0.1 with JSON-coded messages: what the generated code does with
// protobuf, minus the generator.
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()),
}
interface EchoRequest {
  fail?: string
  stallMs?: number
  relay?: boolean
  /** make one call while serving and answer with the metadata it carried */
  relayEcho?: boolean
  /** set a `saga-id` in the trailer */
  trailer?: boolean
}
const method = (name: string) => ({
  path: `/test.v1.Echo/${name}`,
  requestStream: false as const,
  responseStream: false as const,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize as (b: Buffer) => EchoRequest,
  responseSerialize: json.serialize as (v: {
    ok: boolean
    requestId?: string
    traceparent?: string
    tracestate?: string
  }) => Buffer,
  responseDeserialize: json.deserialize,
})
const EchoService = {
  get: method('Get'),
  create: method('Create'),
  // a streaming method is served as the plain grpc-js handler it is given
  ticks: { ...method('Ticks'), responseStream: true as const },
} satisfies ServiceDefinition
const EchoClient = makeGenericClientConstructor(EchoService, 'test.v1.Echo')
const METHODS = { get: { idempotent: true }, create: { idempotent: false } }

const ERRORS: Record<string, () => Error> = {
  notFound: () => new NotFoundError('no such thing'),
  invalid: () => new InvalidInputError('bad name', '/name'),
  exists: () => new ConflictError('taken'),
  stale: () => new VersionConflictError('stale'),
  timeout: () => new TimeoutError(10),
  unavailable: () => new GrpcCallError(status.UNAVAILABLE, 'try later'),
  unavailableError: () => new UnavailableError('the database is down'),
  breakerOpen: () => new BreakerOpenError('payment'),
  bulkheadFull: () => new BulkheadFullError(4, 0),
  crash: () => new Error('secret stack detail'),
  unknown: () => new GrpcCallError(status.UNKNOWN, 'what happened'),
  exhausted: () => new GrpcCallError(status.RESOURCE_EXHAUSTED, 'quota'),
  compensated: () => new SagaCompensatedError('saga place-order failed at charge', 's-1', 'charge'),
}

const cleanups: (() => Promise<void> | void)[] = []
let relay: ResilientGrpcClient | undefined
let lastRelay: { code: string; ms: number } | undefined
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function start() {
  const metrics = new Metrics('echo', { processMetrics: false })
  const health = new HealthRegistry()
  const calls = { get: 0, create: 0 }
  // the metadata of every attempt, as the server read it
  const seen: { requestId: string; traceparent?: string; tracestate?: string }[] = []
  const logLines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(l))
      cb()
    },
  })
  const handler = (name: 'get' | 'create') => async (req: EchoRequest, ctx: UnaryContext) => {
    calls[name]++
    seen.push({
      requestId: ctx.requestId,
      ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
      ...(ctx.tracestate ? { tracestate: ctx.tracestate } : {}),
    })
    if (req.relayEcho) return relay!.unary<unknown, { ok: boolean }>('get', {})
    if (req.relay) {
      // a call made while serving: the caller's deadline caps it, whatever the client's default
      const t0 = performance.now()
      lastRelay = {
        code: (await codeOf(relay!.unary('create', { stallMs: 4000 })))!,
        ms: performance.now() - t0,
      }
      // answered well after the caller's deadline: on a busy machine an answer sent right at it
      // could reach the caller before its own deadline timer fired
      await new Promise((r) => setTimeout(r, 700))
      return { ok: true, relayed: lastRelay }
    }
    if (req.stallMs) await new Promise((r) => setTimeout(r, req.stallMs))
    if (req.trailer) ctx.trailer.set('saga-id', 's-1')
    if (req.fail) throw ERRORS[req.fail]!()
    return {
      ok: true,
      requestId: currentCallContext()?.requestId,
      traceparent: ctx.traceparent,
      tracestate: ctx.tracestate,
    }
  }
  const server = new GrpcServer({ logger: createLogger('echo', 'info', sink), metrics, health })
  server.addService(EchoService, {
    get: handler('get'),
    create: handler('create'),
    ticks: (call: ServerWritableStream<unknown, { ok: boolean }>) => {
      for (let i = 0; i < 3; i++) call.write({ ok: true })
      call.end()
    },
  })
  const port = await server.listen(0, '127.0.0.1')
  cleanups.push(() => server.close(100))
  relay = new ResilientGrpcClient(EchoClient, METHODS, { address: `127.0.0.1:${port}`, deadlineMs: 5000 })
  cleanups.push(() => relay?.close())
  const client = (o: Partial<ConstructorParameters<typeof ResilientGrpcClient>[2]> = {}) => {
    const c = new ResilientGrpcClient(EchoClient, METHODS, {
      address: `127.0.0.1:${port}`,
      target: 'echo',
      registry: metrics.registry,
      backoff: { baseDelayMs: 1, maxDelayMs: 5 },
      ...o,
    })
    cleanups.push(() => c.close())
    return c
  }
  return { port, calls, seen, logLines, metrics, health, server, client }
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p
    return 'OK'
  } catch (e) {
    return status[(e as GrpcCallError).code]
  }
}

describe('ResilientGrpcClient over replicas', () => {
  it('resolves host:port through DNS and leaves a target with a scheme as it is', () => {
    expect(channelTarget('payment:50051')).toBe('dns:///payment:50051')
    expect(channelTarget('localhost:50051')).toBe('dns:///localhost:50051')
    expect(channelTarget('127.0.0.1:50051')).toBe('dns:///127.0.0.1:50051')
    expect(channelTarget('[::1]:50051')).toBe('dns:///[::1]:50051')
    expect(channelTarget('ipv4:127.0.0.1:1,127.0.0.1:2')).toBe('ipv4:127.0.0.1:1,127.0.0.1:2')
    expect(channelTarget('unix:/tmp/s.sock')).toBe('unix:/tmp/s.sock')
  })

  it('spreads calls over every address in turn (round_robin), not down the first connection', async () => {
    const a = await start()
    const b = await start()
    const c = a.client({ address: `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}` })
    for (let i = 0; i < 40; i++) await c.unary('get', {})
    // round_robin alternates once both subchannels are ready; the first calls may all go to one
    expect(a.calls.get + b.calls.get).toBe(40)
    expect(Math.min(a.calls.get, b.calls.get)).toBeGreaterThanOrEqual(15)
  })
})

describe('GrpcServer and ResilientGrpcClient over a real socket', () => {
  it('maps domain errors to status codes and counts them per method and code', async () => {
    const { client, metrics } = await start()
    const c = client({ maxAttempts: 1, breaker: { failureThreshold: 100 } })
    const got: Record<string, string | undefined> = {}
    for (const fail of Object.keys(ERRORS)) got[fail] = await codeOf(c.unary('create', { fail }))
    expect(got).toEqual({
      notFound: 'NOT_FOUND',
      invalid: 'INVALID_ARGUMENT',
      exists: 'ALREADY_EXISTS',
      stale: 'ABORTED',
      timeout: 'DEADLINE_EXCEEDED',
      unavailable: 'UNAVAILABLE',
      unavailableError: 'UNAVAILABLE',
      breakerOpen: 'UNAVAILABLE',
      bulkheadFull: 'UNAVAILABLE',
      crash: 'INTERNAL',
      unknown: 'UNKNOWN',
      exhausted: 'RESOURCE_EXHAUSTED',
      compensated: 'FAILED_PRECONDITION',
    })
    await expect(c.unary('create', { fail: 'crash' })).rejects.toThrow(/internal error/)
    const text = await metrics.registry.metrics()
    expect(text).toContain(
      'grpc_server_handled_total{grpc_service="test.v1.Echo",grpc_method="Create",grpc_code="NOT_FOUND",service="echo"} 1',
    )
    expect(text).toContain(
      'grpc_server_handling_seconds_bucket{le="+Inf",service="echo",grpc_service="test.v1.Echo",grpc_method="Create",grpc_code="INTERNAL"} 2',
    )
  })

  it("sends the trailer a handler set, with the answer and with an error's status", async () => {
    const { port } = await start()
    const raw = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure())
    cleanups.push(() => raw.close())
    const statusOf = (req: EchoRequest) =>
      new Promise<{ code: number; sagaId: unknown }>((resolve) => {
        const call = (raw as unknown as Record<string, (r: EchoRequest, cb: () => void) => ClientUnaryCall>)
          .create!(req, () => undefined)
        call.on('status', (s: StatusObject) =>
          resolve({ code: s.code, sagaId: s.metadata.get('saga-id')[0] }),
        )
      })
    expect(await statusOf({ trailer: true })).toEqual({ code: status.OK, sagaId: 's-1' })
    expect(await statusOf({ trailer: true, fail: 'compensated' })).toEqual({
      code: status.FAILED_PRECONDITION,
      sagaId: 's-1',
    })
    expect(await statusOf({})).toEqual({ code: status.OK, sagaId: undefined })
  })

  it('passes the request id and keeps the trace id with a new parent id', async () => {
    const { client } = await start()
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const r = await client().unary<unknown, { requestId: string; traceparent: string }>(
      'get',
      {},
      { requestId: 'req-42', traceparent: tp },
    )
    expect(r.requestId).toBe('req-42')
    expect(r.traceparent).toBe(tp)
    const fresh = await client().unary<unknown, { requestId: string; traceparent: string }>('get', {})
    expect(fresh.requestId).toMatch(/^[0-9a-f]{32}$/)
    expect(fresh.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  })

  it('logs an INTERNAL with the request id and the error, and hides its details from the caller', async () => {
    const { client, logLines } = await start()
    const err = await client({ maxAttempts: 1 })
      .unary('create', { fail: 'crash' }, { requestId: 'req-crash' })
      .catch((e: GrpcCallError) => e)
    expect(err).toBeInstanceOf(GrpcCallError)
    expect((err as GrpcCallError).details).toBe('internal error')
    const line = logLines.find((l) => l.requestId === 'req-crash')
    expect(line).toMatchObject({ level: 'error', grpcMethod: 'test.v1.Echo/Create', grpcCode: 'INTERNAL' })
    expect(JSON.stringify(line)).toContain('secret stack detail')
  })

  it('sends the same request id, traceparent and tracestate on every retry', async () => {
    const { client, seen } = await start()
    const c = client({ maxAttempts: 3, breaker: { failureThreshold: 100 } })
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    await codeOf(
      c.unary('get', { fail: 'unavailable' }, { requestId: 'req-7', traceparent: tp, tracestate: 'shop=1' }),
    )
    expect(seen).toEqual([
      { requestId: 'req-7', traceparent: tp, tracestate: 'shop=1' },
      { requestId: 'req-7', traceparent: tp, tracestate: 'shop=1' },
      { requestId: 'req-7', traceparent: tp, tracestate: 'shop=1' },
    ])
    // without options: one made-up id and traceparent, the same on each attempt
    seen.length = 0
    await codeOf(c.unary('get', { fail: 'unavailable' }))
    expect(seen).toHaveLength(3)
    expect(new Set(seen.map((s) => JSON.stringify(s))).size).toBe(1)
  })

  it('gives a call made while serving the same request id, trace id and tracestate, with a new parent id', async () => {
    const { client } = await start()
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const r = await client().unary<unknown, { requestId: string; traceparent: string; tracestate: string }>(
      'get',
      { relayEcho: true },
      { requestId: 'req-9', traceparent: tp, tracestate: 'shop=1' },
    )
    expect(r.requestId).toBe('req-9')
    expect(r.tracestate).toBe('shop=1')
    expect(r.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
    expect(r.traceparent).not.toBe(tp)
  })

  it('counts INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED against the breaker, and not a client error', async () => {
    const { client } = await start()
    for (const fail of ['crash', 'unknown', 'exhausted', 'timeout', 'unavailable']) {
      const c = client({ maxAttempts: 1, breaker: { failureThreshold: 1 } })
      await codeOf(c.unary('create', { fail }))
      expect(c.breakerState, fail).toBe('open')
    }
    for (const fail of ['notFound', 'invalid', 'exists', 'stale']) {
      const c = client({ maxAttempts: 1, breaker: { failureThreshold: 1 } })
      await codeOf(c.unary('create', { fail }))
      expect(c.breakerState, fail).toBe('closed')
    }
  })

  it('retries idempotent calls on UNAVAILABLE up to the limit, and never retries non-idempotent ones', async () => {
    const { client, calls } = await start()
    const c = client({ maxAttempts: 3, breaker: { failureThreshold: 100 } })
    expect(await codeOf(c.unary('get', { fail: 'unavailable' }))).toBe('UNAVAILABLE')
    expect(calls.get).toBe(3)
    expect(await codeOf(c.unary('create', { fail: 'unavailable' }))).toBe('UNAVAILABLE')
    expect(calls.create).toBe(1)
    expect(await codeOf(c.unary('get', { fail: 'notFound' }))).toBe('NOT_FOUND')
    expect(calls.get).toBe(4)
  })

  it('puts a deadline on every attempt, overridable per call, and retries DEADLINE_EXCEEDED when idempotent', async () => {
    const { client, calls } = await start()
    const c = client({ deadlineMs: 100, maxAttempts: 2, breaker: { failureThreshold: 100 } })
    const t0 = performance.now()
    expect(await codeOf(c.unary('get', { stallMs: 400 }))).toBe('DEADLINE_EXCEEDED')
    const ms = performance.now() - t0
    expect(calls.get).toBe(2)
    expect(ms).toBeGreaterThanOrEqual(190)
    expect(ms).toBeLessThan(380)
    expect(await codeOf(c.unary('create', { stallMs: 200 }, { deadlineMs: 1000 }))).toBe('OK')
    expect(await codeOf(c.unary('create', { stallMs: 300 }, { deadlineMs: 50 }))).toBe('DEADLINE_EXCEEDED')
    expect(calls.create).toBe(2)
  })

  it('close() fails the calls in flight with CANCELLED at once, and starts no retry after it', async () => {
    const { client, calls } = await start()
    const c = client({ deadlineMs: 5000, breaker: { failureThreshold: 100 } })
    const t0 = performance.now()
    const pending = codeOf(c.unary('get', { stallMs: 2000 }))
    await new Promise((r) => setTimeout(r, 100))
    c.close()
    expect(await pending).toBe('CANCELLED')
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(calls.get).toBe(1)
    expect(await codeOf(c.unary('get', {}))).toBe('CANCELLED')
    expect(calls.get).toBe(1)
  })

  it('propagates the deadline: a call made while serving never outlives the caller', async () => {
    const { client } = await start()
    lastRelay = undefined
    // the relay's client would wait 5 s; the caller gives 300 ms, so the relay gives up with it
    expect(await codeOf(client({ maxAttempts: 1 }).unary('get', { relay: true }, { deadlineMs: 300 }))).toBe(
      'DEADLINE_EXCEEDED',
    )
    await waitFor(() => lastRelay !== undefined)
    expect(lastRelay!.code).toBe('DEADLINE_EXCEEDED')
    expect(lastRelay!.ms).toBeGreaterThan(200)
    expect(lastRelay!.ms).toBeLessThan(1000)
  })

  it('opens the breaker after the threshold, fails fast, half-opens after openMs and closes on success; state in the registry', async () => {
    const { client, calls, metrics } = await start()
    const c = client({ maxAttempts: 1, breaker: { failureThreshold: 3, openMs: 200, halfOpenMaxCalls: 1 } })
    const gauge = async () =>
      (await metrics.registry.getSingleMetricAsString('circuit_breaker_state')).split('\n').at(-1)
    for (let i = 0; i < 3; i++) {
      const sent = await c.unary('create', { fail: 'unavailable' }).catch((e: unknown) => e)
      expect(wasNotSent(sent)).toBe(false)
    }
    expect(c.breakerState).toBe('open')
    expect(await gauge()).toBe('circuit_breaker_state{target="echo",service="echo"} 1')
    const rejected = await c.unary('create', {}).catch((e: unknown) => e)
    expect((rejected as Error).message).toMatch(/circuit breaker for echo is open/)
    // it never left: a saga step knows the callee applied nothing
    expect(wasNotSent(rejected)).toBe(true)
    expect(calls.create).toBe(3)
    // client errors (NOT_FOUND) do not count against the callee
    await new Promise((r) => setTimeout(r, 220))
    expect(c.breakerState).toBe('half-open')
    expect(await gauge()).toBe('circuit_breaker_state{target="echo",service="echo"} 2')
    await codeOf(c.unary('create', { fail: 'unavailable' }))
    expect(c.breakerState).toBe('open')
    await new Promise((r) => setTimeout(r, 220))
    expect(await codeOf(c.unary('create', {}))).toBe('OK')
    expect(c.breakerState).toBe('closed')
    expect(await gauge()).toBe('circuit_breaker_state{target="echo",service="echo"} 0')
    for (let i = 0; i < 5; i++) await codeOf(c.unary('create', { fail: 'notFound' }))
    expect(c.breakerState).toBe('closed')
  })

  it('serves a streaming method through as it is', async () => {
    const { client } = await start()
    const c = client()
    const raw = (c as unknown as { client: { ticks(req: unknown): NodeJS.EventEmitter } }).client
    const seen: unknown[] = []
    await new Promise<void>((resolve, reject) => {
      const stream = raw.ticks({})
      stream.on('data', (d: unknown) => seen.push(d))
      stream.on('end', resolve)
      stream.on('error', reject)
    })
    expect(seen).toEqual([{ ok: true }, { ok: true }, { ok: true }])
  })

  it('on close, drains a call in flight within the grace period and cancels one that outlasts it', async () => {
    const { client, server } = await start()
    const c = client({ maxAttempts: 1, deadlineMs: 5000 })
    const quick = codeOf(c.unary('create', { stallMs: 150 }))
    const slow = codeOf(c.unary('create', { stallMs: 3000 }))
    await new Promise((r) => setTimeout(r, 50))
    const t0 = performance.now()
    await server.close(400)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(await quick).toBe('OK')
    expect(await slow).toBe('CANCELLED')
    // and takes no new call
    expect(await codeOf(c.unary('create', {}))).toBe('UNAVAILABLE')
  })

  it('answers server reflection on v1 and v1alpha from the descriptors', async () => {
    const { server, port } = await start()
    const file = create(FileDescriptorProtoSchema, {
      name: 'echo.proto',
      package: 'test.v1',
      syntax: 'proto3',
      service: [{ name: 'Echo' }],
    })
    server.addReflection([Buffer.from(toBinary(FileDescriptorProtoSchema, file)).toString('base64')])
    // services added after listen are served (grpc-js registers handlers on the running server)
    const { credentials } = await import('@grpc/grpc-js')
    for (const [i, version] of ['v1', 'v1alpha'].entries()) {
      const Reflection = makeGenericClientConstructor(
        REFLECTION_SERVICES[i]!,
        `grpc.reflection.${version}.ServerReflection`,
      )
      const rc = new Reflection(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
        serverReflectionInfo(): NodeJS.EventEmitter & { write(r: { raw: Uint8Array }): void; end(): void }
        close(): void
      }
      cleanups.push(() => rc.close())
      const stream = rc.serverReflectionInfo()
      const answer = new Promise<Buffer>((resolve, reject) => {
        stream.once('data', resolve)
        stream.once('error', reject)
      })
      stream.write({ raw: new Uint8Array([0x3a, 0x00]) }) // list_services: ""
      const bytes = await answer
      stream.end()
      expect(bytes.toString('latin1'), version).toContain('test.v1.Echo')
    }
  })

  it('answers grpc.health.v1 Check and Watch from readiness', async () => {
    const { port, health } = await start()
    const HealthClient = makeGenericClientConstructor(HealthService, 'grpc.health.v1.Health')
    const { credentials } = await import('@grpc/grpc-js')
    const hc = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      check(req: { service: string }, cb: (e: { code: number } | null, r: { status: number }) => void): void
      watch(req: { service: string }): NodeJS.EventEmitter & { cancel(): void }
      close(): void
    }
    cleanups.push(() => hc.close())
    const check = (service: string) =>
      new Promise<number | string>((resolve) =>
        hc.check({ service }, (e, r) => resolve(e ? status[e.code]! : r.status)),
      )
    expect(await check('')).toBe(SERVING_STATUS.SERVING)
    expect(await check('test.v1.Echo')).toBe(SERVING_STATUS.SERVING)
    expect(await check('nope.v1.Nope')).toBe('NOT_FOUND')
    const unknown = hc.watch({ service: 'nope.v1.Nope' })
    const first = await new Promise<number>((resolve) =>
      unknown.once('data', (r: { status: number }) => resolve(r.status)),
    )
    unknown.on('error', () => {})
    unknown.cancel()
    expect(first).toBe(SERVING_STATUS.SERVICE_UNKNOWN)
    let ready = true
    health.addReadinessCheck('db', () => ready)
    const seen: number[] = []
    const watch = hc.watch({ service: '' })
    watch.on('data', (r: { status: number }) => seen.push(r.status))
    watch.on('error', () => {})
    await waitFor(() => seen.length === 1)
    ready = false
    expect(await check('')).toBe(SERVING_STATUS.NOT_SERVING)
    await waitFor(() => seen.length === 2, 3000)
    expect(seen).toEqual([SERVING_STATUS.SERVING, SERVING_STATUS.NOT_SERVING])
    // shutdown ends the watch, so that the server's drain does not wait on it
    const ended = new Promise<void>((resolve) => watch.once('end', () => resolve()))
    health.markShuttingDown()
    await ended
  })
})

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
