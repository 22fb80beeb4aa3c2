// `msvc saga ls|show|retry` over real sockets, against a stand-in owner that answers the routes the
// generated owner serves (their shapes: the kit's SagaSummary and SagaDetails). The generated
// routes themselves are tested in the generated service's own tests and, with this CLI, on the
// running saga shop (test/e2e/saga.test.ts); here, the CLI's edges: two owners merged newest
// first, --state and --saga, a stuck saga retried (202), refusals (409, 404), an owner that is
// down, and bad flags.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SagaDetails, SagaSummary } from '../../src/core/saga/view.js'
import { msvc } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/sagas/msvc.yaml', import.meta.url))

const summary = (id: string, name: string, state: SagaSummary['state'], createdAt: string): SagaSummary => ({
  id,
  name,
  state,
  attempt: 1,
  createdAt,
  updatedAt: createdAt,
})

/** An owner's routes over `sagas`; `retried` collects the ids POSTed to /retry. */
function standIn(sagas: SagaDetails[], retried: string[]): Server {
  return createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const one = /^\/sagas\/([^/]+)(\/retry)?$/.exec(url.pathname)
    if (req.method === 'GET' && url.pathname === '/sagas') {
      const state = url.searchParams.get('state')
      const limit = Number(url.searchParams.get('limit') ?? 50)
      const items = sagas
        .filter((s) => !state || s.state === state)
        .slice(0, limit)
        .map(({ input: _i, outputs: _o, timeline: _t, ...s }) => s)
      return send(200, { items })
    }
    const saga = one && sagas.find((s) => s.id === one[1])
    if (!one || !saga) return send(404, { error: 'not_found' })
    if (req.method === 'GET' && !one[2]) return send(200, saga)
    if (req.method === 'POST' && one[2]) {
      if (saga.state !== 'stuck') return send(409, { error: 'conflict', state: saga.state })
      retried.push(saga.id)
      return send(202, { sagaId: saga.id })
    }
    send(405, {})
  })
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

describe('msvc saga against its owners', () => {
  let dir: string
  let order: Server
  let billing: Server
  const retried: string[] = []
  const t0 = Date.parse('2026-12-05T10:00:00.000Z')
  const at = (s: number) => new Date(t0 + s * 1000).toISOString()
  const stuck: SagaDetails = {
    ...summary('s-stuck', 'place-order', 'stuck', at(1)),
    step: 'charge',
    attempt: 10,
    failedStep: 'charge',
    error: 'charge: payment refused the refund',
    input: {},
    outputs: {},
    timeline: [
      {
        step: 'reserve-stock',
        phase: 'call',
        attempt: 1,
        runner: 'r',
        startedAt: at(1),
        endedAt: at(1.2),
        outcome: 'ok',
        durationMs: 200,
      },
      {
        step: 'charge',
        phase: 'call',
        attempt: 1,
        runner: 'r',
        startedAt: at(1.3),
        endedAt: at(4.3),
        outcome: 'timeout',
        durationMs: 3000,
        error: 'timed out after 3 s',
      },
      {
        step: 'charge',
        phase: 'compensate',
        attempt: 1,
        runner: 'r',
        startedAt: at(4.4),
        endedAt: at(4.5),
        outcome: 'refused',
        durationMs: 100,
        error: 'refund refused',
      },
    ],
  }
  const done: SagaDetails = {
    ...summary('s-done', 'place-order', 'completed', at(3)),
    input: {},
    outputs: {},
    timeline: [],
  }
  const settled: SagaDetails = {
    ...summary('s-settle', 'settle', 'completed', at(2)),
    input: {},
    outputs: {},
    timeline: [],
  }

  beforeAll(async () => {
    order = standIn([done, stuck], retried)
    billing = standIn([settled], retried)
    const [orderPort, billingPort] = [await listen(order), await listen(billing)]
    dir = await makeTempDir('msvc-saga-cli-')
    // the fixture's shop, order on the stand-in's port, and a second owner with a saga of its own
    const yaml = (await readFile(FIXTURE, 'utf8'))
      .replace('ports: { http: 3201, grpc: 50261 }', `ports: { http: ${orderPort}, grpc: 50261 }`)
      .replace(
        'sagas:\n',
        [
          '  billing:',
          '    capabilities: [http]',
          `    ports: { http: ${billingPort} }`,
          '    store: postgres',
          '    fields: { orderId: string! }',
          '    operations:',
          '      close: {}',
          'sagas:',
          '  settle:',
          '    owner: billing',
          '    steps:',
          '      - { name: close, call: billing.close, id: input.id }',
          '',
        ].join('\n'),
      )
    await writeFile(join(dir, 'msvc.yaml'), yaml)
  })

  afterAll(async () => {
    order?.close()
    billing?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('ls merges the owners newest first, and filters by state and saga', async () => {
    const all = await msvc(['saga', 'ls', '--json'], { cwd: dir })
    expect(all.exitCode, all.stderr).toBe(0)
    expect((JSON.parse(all.stdout) as { sagas: SagaSummary[] }).sagas.map((s) => s.id)).toEqual([
      's-done',
      's-settle',
      's-stuck',
    ])
    const stuckOnly = await msvc(['saga', 'ls', '--state', 'stuck'], { cwd: dir })
    expect(stuckOnly.exitCode, stuckOnly.stderr).toBe(0)
    expect(stuckOnly.stdout).toMatch(/s-stuck\s+place-order\s+stuck\s+charge/)
    expect(stuckOnly.stdout).not.toContain('s-done')
    const settle = await msvc(['saga', 'ls', '--saga', 'settle', '--json'], { cwd: dir })
    expect((JSON.parse(settle.stdout) as { sagas: SagaSummary[] }).sagas.map((s) => s.id)).toEqual([
      's-settle',
    ])
    const none = await msvc(['saga', 'ls', '--state', 'compensating'], { cwd: dir })
    expect(none.exitCode).toBe(0)
    expect(none.stdout + none.stderr).toContain('no saga is compensating')
  })

  it('show draws the timeline, and retry sends a stuck saga back (only a stuck one)', async () => {
    const show = await msvc(['saga', 'show', 's-stuck'], { cwd: dir })
    expect(show.exitCode, show.stderr).toBe(0)
    expect(show.stdout).toContain('saga s-stuck  place-order  stuck')
    expect(show.stdout).toMatch(/charge\s+call\s+#1\s+timeout\s+3\.00 s/)
    expect(show.stdout).toMatch(/charge\s+compensate\s+#1\s+refused/)
    const retry = await msvc(['saga', 'retry', 's-stuck'], { cwd: dir })
    expect(retry.exitCode, retry.stderr).toBe(0)
    expect(retried).toEqual(['s-stuck'])
    const refused = await msvc(['saga', 'retry', 's-settle'], { cwd: dir })
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain('saga s-settle is completed: only a stuck saga is retried')
    const unknown = await msvc(['saga', 'show', 'nope'], { cwd: dir })
    expect(unknown.exitCode).toBe(1)
    expect(unknown.stderr).toContain('no saga nope')
    expect(unknown.stderr).toContain('hint: msvc saga ls')
  })

  it('names bad flags and an owner that is down, in one line with a hint', async () => {
    const state = await msvc(['saga', 'ls', '--state', 'lost'], { cwd: dir })
    expect(state.exitCode).toBe(1)
    expect(state.stderr).toContain('--state "lost" is not a saga state')
    const saga = await msvc(['saga', 'ls', '--saga', 'refund-all'], { cwd: dir })
    expect(saga.exitCode).toBe(1)
    expect(saga.stderr).toContain('unknown saga "refund-all"')
    const id = await msvc(['saga', 'show', '../etc'], { cwd: dir })
    expect(id.exitCode).toBe(1)
    expect(id.stderr).toContain('is not a saga id')
    billing.close()
    await once(billing, 'close')
    const down = await msvc(['saga', 'ls'], { cwd: dir })
    expect(down.exitCode).toBe(1)
    expect(down.stderr).toContain('billing (owner of settle) does not answer')
    expect(down.stderr).toContain('hint: start it with msvc up billing')
  })
})
