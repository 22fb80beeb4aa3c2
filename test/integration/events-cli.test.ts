import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connectBroker, readSubject } from '../../src/io/events.js'
import { MSVC_BIN, msvc } from '../helpers/cli.js'
import {
  bundleEventsWorker,
  readLines,
  startWorker,
  stopAll,
  waitFor,
  type Worker,
} from '../helpers/events-harness.js'
import { hasNatsServer, NatsServer } from '../helpers/nats.js'
import { freePort } from '../helpers/net.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue 4: `msvc events`, `events tail` and `events dlq` against a real nats-server.
const WS = 'cliws'
const YAML = `name: ${WS}
services:
  order: { capabilities: [events], ports: { http: 3001 }, publishes: [order.created] }
  payment: { capabilities: [events], ports: { http: 3002 }, subscribes: [order.created, refund.issued] }
  shipping: { capabilities: [events], ports: { http: 3003 }, publishes: [order.shipped] }
events:
  order.created: { schema: { n: integer, fail: boolean? } }
  order.shipped: { schema: { id: string } }
  refund.issued: { schema: { id: string } }
`

const made: string[] = []
const tempDir = async () => {
  const d = await makeTempDir('msvc-events-cli-')
  made.push(d)
  return d
}
afterAll(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })))
})

describe('msvc events', () => {
  let dir: string
  beforeAll(async () => {
    dir = await tempDir()
    await writeFile(join(dir, 'msvc.yaml'), YAML)
  })

  it('lists the catalog and warns about dangling events', async () => {
    const r = await msvc(['events'], { cwd: dir })
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/order\.created\s+\{ n: integer, fail: boolean\? \}\s+order\s+payment/)
    expect(r.stderr).toContain('order.shipped is published by shipping but nobody subscribes to it')
    expect(r.stderr).toContain('payment subscribes to refund.issued but nobody publishes it')
    const json = await msvc(['events', '--json'], { cwd: dir })
    expect(json.exitCode).toBe(0)
    const parsed = JSON.parse(json.stdout) as { warnings: { type: string; message: string; hint: string }[] }
    expect(parsed).toMatchObject({
      stream: 'cliws-events',
      events: [{ type: 'order.created' }, {}, {}],
    })
    expect(parsed.warnings).toEqual([
      {
        type: 'order.shipped',
        message: 'order.shipped is published by shipping but nobody subscribes to it',
        hint: 'add a subscriber: msvc add <service> --events --subscribes order.shipped',
      },
      {
        type: 'refund.issued',
        message: 'payment subscribes to refund.issued but nobody publishes it',
        hint: 'add a publisher: msvc add <service> --events --publishes refund.issued',
      },
    ])
  })

  it.each([
    [['events', 'tail', 'OrderCreated'], /not lowercase\.dotted/],
    [['events', 'tail', 'order.deleted'], /not in the events catalog.*\n.*known types: order\.created/],
    [['events', 'tail', 'order.created', '--server', 'http://127.0.0.1:4222'], /must start with nats:\/\//],
    [['events', 'dlq', '--type', 'Bad'], /not lowercase\.dotted/],
    [['events', 'dlq', '--service', 'nobody'], /no service "nobody"/],
  ])('rejects bad input: %j', async (args, message) => {
    const r = await msvc(args, { cwd: dir })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(message)
  })

  it('rejects a subscription to a type the catalog does not declare, naming file and line', async () => {
    const other = await tempDir()
    await writeFile(
      join(other, 'msvc.yaml'),
      `name: bad\nservices:\n  payment: { capabilities: [events], ports: { http: 3001 }, subscribes: [refund.issued] }\n`,
    )
    const r = await msvc(['events'], { cwd: other })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/msvc\.yaml:3:\d+ event type "refund\.issued" is not in the events catalog/)
  })

  it('names an unreachable broker', async () => {
    const port = await freePort()
    const r = await msvc(['events', 'dlq', '--server', `nats://127.0.0.1:${port}`], { cwd: dir })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`cannot reach the broker at nats://127.0.0.1:${port}`)
  })
})

describe.skipIf(!hasNatsServer() && process.env.MSVC_E2E_REQUIRE_DOCKER !== '1')(
  'msvc events against a broker',
  () => {
    let nats: NatsServer
    let dir: string
    let bundle: string
    const workers: Worker[] = []
    beforeAll(async () => {
      nats = await NatsServer.start()
      dir = await tempDir()
      await writeFile(join(dir, 'msvc.yaml'), YAML)
      bundle = await bundleEventsWorker(dir)
    })
    afterEach(() => stopAll(workers))
    afterAll(async () => {
      await stopAll(workers)
      await nats?.stop()
    })
    const cfg = (service: string, extra: Record<string, unknown>) => ({
      url: nats.url,
      workspace: WS,
      service,
      type: 'order.created',
      ...extra,
    })

    it('says when the stack has no stream yet', async () => {
      const r = await msvc(['events', 'dlq', '--server', nats.url], { cwd: dir })
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toContain('has no stream cliws-events')
    })

    it('tails live events', async () => {
      // the stream exists once a service has connected
      const consumer = startWorker(
        bundle,
        cfg('payment', { role: 'consume', effects: join(dir, 'fx') }),
        workers,
      )
      await consumer.ready
      const startTail = (...extra: string[]) => {
        const child = execa(
          'node',
          [MSVC_BIN, 'events', 'tail', 'order.created', '--server', nats.url, '--count', '3', ...extra],
          {
            cwd: dir,
            reject: false,
            env: { NO_COLOR: '1', CI: '1' },
            stdin: 'ignore',
          },
        )
        let err = ''
        child.stderr?.on('data', (b: Buffer) => (err += b.toString()))
        return {
          child,
          waiting: () =>
            waitFor(
              () => err.includes('waiting for'),
              10_000,
              () => err,
            ),
        }
      }
      const jsonTail = startTail('--json')
      const textTail = startTail()
      await jsonTail.waiting()
      await textTail.waiting()
      const tail = jsonTail.child
      const pub = startWorker(
        bundle,
        cfg('order', { role: 'publish', count: 3, acked: join(dir, 'acked'), failed: join(dir, 'failed') }),
        workers,
      )
      expect(await pub.exited).toBe(0)
      const r = await tail
      expect(r.exitCode).toBe(0)
      const lines = String(r.stdout)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; id: string })
      expect(lines.map((l) => l.type)).toEqual(['order.created', 'order.created', 'order.created'])
      const acked = readLines(join(dir, 'acked'))
      expect(lines.map((l) => l.id).sort()).toEqual(acked.map((l) => l.rest).sort())
      // one line each: time, type, id, source, data
      const text = await textTail.child
      expect(text.exitCode).toBe(0)
      const textLines = String(text.stdout).trim().split('\n')
      expect(textLines).toHaveLength(3)
      for (const { n, rest: id } of acked)
        expect(textLines).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^\\d{4}-\\d\\d-\\d\\dT\\S+ {2}order\\.created {2}${id} {2}/${WS}/order {2}\\{"n":${n}\\}$`,
            ),
          ),
        )
      // the tails took nothing from the service's own consumer: it handled all three
      await waitFor(
        () => readLines(join(dir, 'fx')).length === 3,
        10_000,
        () => `${readLines(join(dir, 'fx')).length} handled`,
      )
    })

    it('lists dead letters and replays them', async () => {
      const consumer = startWorker(
        bundle,
        cfg('payment', { role: 'consume', effects: join(dir, 'fx2'), maxDeliveries: 2 }),
        workers,
      )
      await consumer.ready
      const pub = startWorker(
        bundle,
        cfg('order', {
          role: 'publish',
          count: 5,
          poison: 2,
          acked: join(dir, 'acked2'),
          failed: join(dir, 'failed2'),
        }),
        workers,
      )
      expect(await pub.exited).toBe(0)
      const poisonId = readLines(join(dir, 'acked2')).find((l) => l.n === 2)!.rest
      let listed: { deadLetters: { eventId: string; deliveries: number; error: string; service: string }[] } =
        {
          deadLetters: [],
        }
      for (let i = 0; i < 50 && listed.deadLetters.length === 0; i++) {
        const r = await msvc(['events', 'dlq', '--server', nats.url, '--json'], { cwd: dir })
        expect(r.exitCode).toBe(0)
        listed = JSON.parse(r.stdout)
        if (!listed.deadLetters.length) await new Promise((res) => setTimeout(res, 200))
      }
      expect(listed.deadLetters).toMatchObject([
        { eventId: poisonId, deliveries: 2, error: 'poison event 2', service: 'payment' },
      ])
      await stopAll(workers) // the handler still fails: replay to a stopped consumer
      const table = await msvc(['events', 'dlq', '--server', nats.url], { cwd: dir })
      expect(table.stdout).toMatch(/payment\s+order\.created\s+\S+\s+2\s+.*poison event 2/)
      const narrowed = async (...args: string[]) =>
        (
          JSON.parse(
            (await msvc(['events', 'dlq', '--server', nats.url, '--json', ...args], { cwd: dir })).stdout,
          ) as typeof listed
        ).deadLetters.length
      expect(await narrowed('--service', 'payment', '--type', 'order.created')).toBe(1)
      expect(await narrowed('--service', 'order')).toBe(0)
      const dry = await msvc(['events', 'dlq', '--server', nats.url, '--replay', '--dry-run'], { cwd: dir })
      expect(dry.exitCode).toBe(0)
      expect(dry.stderr).toContain('would replay 1 event')
      expect(await narrowed()).toBe(1) // the dry run removed nothing
      const replay = await msvc(['events', 'dlq', '--server', nats.url, '--replay'], { cwd: dir })
      expect(replay.exitCode).toBe(0)
      expect(replay.stderr).toContain('replayed 1 event')
      const after = await msvc(['events', 'dlq', '--server', nats.url, '--json'], { cwd: dir })
      expect(JSON.parse(after.stdout).deadLetters).toEqual([])
      const b = await connectBroker(nats.url)
      try {
        const events = await readSubject(b, `${WS}-events`, `${WS}.events.order.created`)
        const ids = events.map((e) => (JSON.parse(e.data) as { id: string }).id)
        expect(ids.filter((id) => id === poisonId)).toHaveLength(2) // the original and the replay
      } finally {
        await b.close()
      }
    })
  },
)
