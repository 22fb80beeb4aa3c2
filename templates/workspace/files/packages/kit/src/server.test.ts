import { createServer, type Server } from 'node:net'
import { Writable } from 'node:stream'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { ConflictError, NotFoundError, NotImplementedError, UnauthenticatedError } from './errors.js'
import { HealthRegistry } from './health.js'
import { createLogger } from './logger.js'
import { Metrics } from './metrics.js'
import { createHttpServer, type FastifyInstance } from './server.js'

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
})

/** `plain`: KIT_PLAIN_LOGGING's plain pino and prom-client; the kit's own layer otherwise. */
function setup(plain = false) {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      cb()
    },
  })
  const health = new HealthRegistry()
  const metrics = new Metrics('test', { processMetrics: false, plain })
  const logger = createLogger('test', 'info', sink, { plain })
  app = createHttpServer({ service: 'test', logger, metrics, health, plain })
  app.post(
    '/things',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1 }, count: { type: 'integer' } },
        },
      },
    },
    async (req, reply) => reply.code(201).send(req.body),
  )
  app.get('/things/:id', async (req) => {
    const { id } = req.params as { id: string }
    if (id === 'noted') req.log.info({ note: 'from the handler' }, 'handler line')
    if (id === 'missing') throw new NotFoundError(`thing ${id} not found`)
    if (id === 'taken') throw new ConflictError('taken')
    if (id === 'later') throw new NotImplementedError('later: its rules are not written yet')
    if (id === 'stranger') throw new UnauthenticatedError('wrong email or password')
    if (id === 'crash') throw new Error('secret internals')
    return { id }
  })
  return { app, lines, health, metrics }
}

const post = (app: FastifyInstance, payload: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/things',
    payload,
    headers: { 'content-type': 'application/json', ...headers },
  })

// every behaviour holds with the kit's performance layer and with plain pino and prom-client
describe.each([
  ['the kit', false],
  ['KIT_PLAIN_LOGGING=1', true],
])('createHttpServer (%s)', (_mode, plain) => {
  it.each([
    ['{"name":', 400, 'invalid_json', undefined],
    ['', 400, 'invalid_json', undefined],
    ['{"name": 42}', 400, 'validation_failed', '/name'],
    ['{}', 400, 'validation_failed', '/name'],
    ['{"name":"x","extra":1}', 400, 'validation_failed', '/extra'],
    ['{"name":"x","count":"3"}', 400, 'validation_failed', '/count'],
  ])('answers %j with %i %s naming %s', async (payload, status, error, field) => {
    const { app } = setup(plain)
    const r = await post(app, payload)
    expect(r.statusCode).toBe(status)
    const body = r.json() as { error: string; details?: { field: string }[] }
    expect(body.error).toBe(error)
    if (field) expect(body.details?.[0]?.field).toBe(field)
  })

  it('answers a wrong content type with 415 and a huge body with 413', async () => {
    const { app } = setup(plain)
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/things',
          payload: 'x',
          headers: { 'content-type': 'text/plain' },
        })
      ).statusCode,
    ).toBe(415)
    expect((await post(app, JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }))).statusCode).toBe(413)
  })

  it('maps domain errors and hides internals', async () => {
    const { app } = setup(plain)
    expect((await app.inject('/things/missing')).statusCode).toBe(404)
    expect((await app.inject('/things/taken')).statusCode).toBe(409)
    expect((await app.inject('/things/later')).json()).toEqual({
      error: 'not_implemented',
      message: 'later: its rules are not written yet',
    })
    expect((await app.inject('/things/later')).statusCode).toBe(501)
    const stranger = await app.inject('/things/stranger')
    expect([stranger.statusCode, stranger.json()]).toEqual([
      401,
      { error: 'unauthenticated', message: 'wrong email or password' },
    ])
    const crash = await app.inject('/things/crash')
    expect(crash.statusCode).toBe(500)
    expect(crash.body).not.toContain('secret')
    expect((await app.inject('/nowhere')).json()).toMatchObject({ error: 'not_found' })
  })

  it('takes a valid x-request-id, replaces an invalid one, and logs it', async () => {
    const { app, lines } = setup(plain)
    const given = await post(app, '{"name":"a"}', { 'x-request-id': 'abc-123' })
    expect(given.headers['x-request-id']).toBe('abc-123')
    const bad = await post(app, '{"name":"a"}', { 'x-request-id': 'bad id with spaces' })
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/)
    await app.close()
    const line = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === 'abc-123' && String(l.msg).startsWith('request'))
    if (plain)
      expect(line).toMatchObject({ service: 'test', res: { statusCode: 201 }, msg: 'request completed' })
    else expect(line).toMatchObject({ service: 'test', route: '/things', statusCode: 201, msg: 'request' })
  })

  it("writes one line per finished request, and polled routes only at debug (plain: fastify's two)", async () => {
    const { app, lines } = setup(plain)
    await app.inject({ url: '/things/a', headers: { 'x-request-id': 'one-line' } })
    await app.inject('/health/live')
    await app.inject('/metrics')
    await app.close()
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const mine = parsed.filter((l) => l.requestId === 'one-line')
    if (plain) {
      // fastify's own request logging: a line as the request comes in and one as it finishes
      expect(mine.map((l) => l.msg)).toEqual(['incoming request', 'request completed'])
      expect(mine[1]).toMatchObject({ level: 'info', service: 'test', res: { statusCode: 200 } })
      return
    }
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/things/:id',
      statusCode: 200,
      msg: 'request',
    })
    expect(typeof mine[0]?.durationMs).toBe('number')
    expect(mine[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(parsed.filter((l) => l.route === '/health/live' || l.route === '/metrics')).toEqual([])
  })

  it("gives the handler's own log lines the request id", async () => {
    const { app, lines } = setup(plain)
    await app.inject({ url: '/things/noted', headers: { 'x-request-id': 'handler-1' } })
    await app.close()
    const line = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'handler line')
    expect(line).toMatchObject({ requestId: 'handler-1', note: 'from the handler', service: 'test' })
  })

  it('starts without deprecation warnings', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code ?? w.name}: ${w.message}`)
    process.on('warning', onWarning)
    try {
      const { app } = setup(plain)
      await app.ready()
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).toEqual([])
  })

  it('counts requests per route template, not per URL', async () => {
    const { app } = setup(plain)
    await app.inject('/things/a')
    await app.inject('/things/b')
    await app.inject('/things/missing')
    const text = (await app.inject('/metrics')).body
    // each sample with its labels in name order (prom-client's own histogram orders them otherwise)
    const samples = text
      .split('\n')
      .filter((l) => l.startsWith('http_'))
      .map((l) => l.replace(/\{([^}]*)\}/, (_m, labels: string) => `{${labels.split(',').sort().join(',')}}`))
    const labels = (status: number) =>
      `method="GET",route="/things/:id",service="test",status_code="${status}"`
    expect(samples).toContain(`http_requests_total{${labels(200)}} 2`)
    expect(samples).toContain(`http_request_duration_seconds_count{${labels(200)}} 2`)
    expect(samples).toContain(`http_requests_total{${labels(404)}} 1`)
    expect(samples).toContain(`http_request_duration_seconds_bucket{le="+Inf",${labels(200)}} 2`)
    expect(text).not.toContain('/things/a')
  })

  // a real pool whose one connection never gets an answer: the request behind it waits for a
  // connection until the pool's time runs out, as every request does when all connections are
  // busy under load (pg-pool's own error); both are 503s the caller may retry
  it('answers 503 when the database pool gives no connection in time, not a 500', async () => {
    const silent: Server = createServer(() => undefined)
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as { port: number }).port
    const pool = new pg.Pool({ host: '127.0.0.1', port, max: 1, connectionTimeoutMillis: 100 })
    try {
      const { app, lines } = setup(plain)
      app.get('/from-db', async () => (await pool.query('select 1')).rows)
      const answers = await Promise.all([app.inject('/from-db'), app.inject('/from-db')])
      for (const r of answers) {
        expect(r.statusCode).toBe(503)
        expect(r.json()).toEqual({
          error: 'unavailable',
          message: 'a connection was not available: try again',
        })
      }
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; err?: { message: string } })
      expect(
        logged.filter((l) => l.msg === 'a connection was not available').map((l) => l.err?.message),
      ).toEqual(
        expect.arrayContaining([
          'timeout exceeded when trying to connect',
          expect.stringMatching(/^Connection terminated due to connection timeout/),
        ]),
      )
    } finally {
      await pool.end()
      silent.close()
    }
  })

  it('is ready only when every check passes and not shutting down', async () => {
    const { app, health } = setup(plain)
    expect((await app.inject('/health/ready')).statusCode).toBe(200)
    let up = false
    health.addReadinessCheck('db', () => up)
    const r = await app.inject('/health/ready')
    expect(r.statusCode).toBe(503)
    expect(r.json()).toMatchObject({ status: 'not_ready', checks: [{ name: 'db', ok: false }] })
    up = true
    expect((await app.inject('/health/ready')).statusCode).toBe(200)
    health.markShuttingDown()
    expect((await app.inject('/health/ready')).statusCode).toBe(503)
    expect((await app.inject('/health/live')).statusCode).toBe(200)
  })
})
