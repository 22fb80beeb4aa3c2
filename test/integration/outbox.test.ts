import { randomUUID } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toServiceTables } from '../../src/core/db/table.js'
import type { ServiceSpec } from '../../src/core/workspace/model.js'
import { planMigration } from '../../src/io/db/migrations.js'
import { connectBroker, readSubject } from '../../src/io/events.js'
import {
  isConnectionError,
  openDatabase,
  OutboxRelay,
  writeOutbox,
  type DatabaseConnection,
} from '../../templates/workspace/files/packages/kit/src/db/index.js'
import { EventBus } from '../../templates/workspace/files/packages/kit/src/events/index.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { REPO } from '../helpers/cli.js'
import { NatsServer } from '../helpers/nats.js'
import { freePort } from '../helpers/net.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue #15: the transactional outbox against a real PostgreSQL (the postgres image, in Docker)
// and a real nats-server with JetStream. Whatever the crash, every committed change's event is in
// the stream exactly once, and no event is there whose change did not commit.

const hasDocker = await dockerAvailable()
const logger = createLogger('stock', 'silent', undefined)

const SPEC: ServiceSpec = {
  description: '',
  capabilities: ['http', 'events'],
  resource: 'stocks',
  ports: { http: 3001 },
  calls: [],
  publishes: ['stock.created'],
  subscribes: [],
  replicas: 1,
  env: {},
  store: 'postgres',
}

/** Rows of `stocks` and the `stock.created` events in the stream of `workspace`, by record id. */
async function audit(url: string, natsUrl: string, workspace: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const rows = (await client.query<{ id: string }>('select id from stocks')).rows.map((r) => r.id)
  const unsent = (
    await client.query<{ n: number }>('select count(*)::int as n from outbox where published_at is null')
  ).rows[0]!.n
  await client.end()
  const broker = await connectBroker(natsUrl)
  try {
    const messages = await readSubject(
      broker,
      `${workspace}-events`,
      `${workspace}.events.stock.created`,
      1_000_000,
    )
    const events = messages.map((m) => JSON.parse(m.data) as { id: string; data: { id: string } })
    return { rows, unsent, events }
  } finally {
    await broker.close()
  }
}

/** Ends the one session inside a transaction (the relay's, between its publishes and its marks). */
async function terminateOpenTransaction(admin: pg.Client): Promise<void> {
  const killed = await admin.query<{ ok: boolean }>(
    "select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and pid <> pg_backend_pid()",
  )
  if (killed.rows.length !== 1 || !killed.rows[0]!.ok)
    throw new Error(`expected one relay transaction, ended ${killed.rows.length}`)
}

describe.skipIf(!hasDocker)('the transactional outbox (PostgreSQL + JetStream)', () => {
  let dir: string
  let migrations: string
  let nats: NatsServer
  let port: number
  const container = `msvc-outbox-test-${randomUUID().slice(0, 8)}`
  const dbUrl = (db: string) => `postgres://postgres:pw@127.0.0.1:${port}/${db}`
  /** stock's bus on the test broker, publishing stock.created into `workspace`'s stream */
  const startBus = async (workspace: string) => {
    const bus = new EventBus<{ 'stock.created': { id: string } }>({
      workspace,
      service: 'stock',
      url: nats.url,
      schemas: { 'stock.created': { id: 'string' } },
      logger,
    })
    await bus.start()
    return bus
  }

  beforeAll(async () => {
    dir = await makeTempDir('msvc-outbox-')
    // the migrations msvc generates for the service: what openDatabase applies at start
    const change = await planMigration(join(dir, 'svc'), toServiceTables(SPEC), 'svc', 'init')
    for (const f of change.files) {
      await mkdir(dirname(join(dir, f.path)), { recursive: true })
      await writeFile(join(dir, f.path), f.contents)
    }
    migrations = join(dir, 'svc/drizzle')
    port = await freePort()
    await docker([
      'run',
      '-d',
      '--name',
      container,
      '--label',
      'msvc.test=outbox',
      '-e',
      'POSTGRES_PASSWORD=pw',
      '-p',
      `127.0.0.1:${port}:5432`,
      'postgres:15',
    ])
    nats = await NatsServer.start()
    const deadline = Date.now() + 30_000
    for (;;) {
      const c = new pg.Client({ connectionString: dbUrl('postgres') })
      try {
        await c.connect()
        await c.query('create database faults')
        await c.query('create database kills')
        await c.query('create database refusals')
        await c.end()
        break
      } catch (e) {
        await c.end().catch(() => undefined)
        if (Date.now() > deadline) throw e
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }, 90_000)

  afterAll(async () => {
    await docker(['rm', '-f', container]).catch(() => undefined)
    await nats?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('crashes 1,000 times between commit and publish, and between publish and mark: each event once, none uncommitted', async () => {
    const conn: DatabaseConnection = await openDatabase({
      url: dbUrl('faults'),
      migrationsFolder: migrations,
      logger,
    })
    const bus = await startBus('faults')
    const admin = new pg.Client({ connectionString: dbUrl('faults') })
    await admin.connect()
    class Crash extends Error {}
    let random = 42
    const rnd = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const aborted: string[] = []
    let crashes = 0
    try {
      for (let i = 0; i < 1000; i++) {
        // a write that commits, or one that dies after writing both its record and its event
        const id = randomUUID()
        const dies = rnd() < 0.2
        await conn.db
          .transaction(async (tx) => {
            await tx.execute(
              sql`insert into stocks (id, name, version, created_at, updated_at) values (${id}, ${id}, 1, now(), now())`,
            )
            await writeOutbox(tx, [{ id: randomUUID(), type: 'stock.created', payload: { id } }])
            if (dies) throw new Crash()
          })
          .catch((e: unknown) => {
            if (!(e instanceof Crash)) throw e
            aborted.push(id)
          })
        // now and then a relay that dies after k of its batch's publishes, before marking them sent:
        // its connection is cut (as the database sees a relay process die), and it publishes no more
        if (rnd() < 0.6) {
          let budget = Math.floor(rnd() * 4)
          let cut: Promise<void> | undefined
          const dying = new OutboxRelay({
            db: conn.db,
            logger,
            batch: 3,
            publish: async (e) => {
              if (budget-- <= 0) {
                cut ??= terminateOpenTransaction(admin)
                await cut
                throw new Crash()
              }
              await bus.publish('stock.created', e.payload as { id: string }, { id: e.id })
            },
          })
          await dying.drainOnce().catch((e: unknown) => {
            // the marks die with the connection: the batch's publishes are not marked sent
            if (!cut || !isConnectionError(e)) throw e
            crashes++
          })
        }
      }
      // the next start: a relay that lives, until the outbox is empty
      const relay = new OutboxRelay({
        db: conn.db,
        logger,
        publish: (e) => bus.publish('stock.created', e.payload as { id: string }, { id: e.id }),
      })
      while ((await relay.drainOnce()) > 0);
    } finally {
      await admin.end()
      await bus.close()
      await conn.close()
    }
    const { rows, unsent, events } = await audit(dbUrl('faults'), nats.url, 'faults')
    expect(crashes).toBeGreaterThan(300)
    expect(aborted.length).toBeGreaterThan(100)
    expect(unsent).toBe(0)
    expect(rows).toHaveLength(1000 - aborted.length)
    // exactly once: as many messages as committed records, one per record, no id twice
    expect(events).toHaveLength(rows.length)
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    expect(new Set(events.map((e) => e.data.id))).toEqual(new Set(rows))
    for (const id of aborted) expect(rows).not.toContain(id)
  }, 120_000)

  it('keeps an event its schema refuses, with the error, and publishes those behind it; prune deletes only what was published', async () => {
    const conn = await openDatabase({ url: dbUrl('refusals'), migrationsFolder: migrations, logger })
    const bus = await startBus('refusals')
    const good = [randomUUID(), randomUUID(), randomUUID()]
    const bad = randomUUID()
    try {
      await conn.db.transaction((tx) =>
        writeOutbox(tx, [
          { id: randomUUID(), type: 'stock.created', payload: { id: good[0] } },
          // written by an older version of the code, say: its id is a number now refused
          { id: bad, type: 'stock.created', payload: { id: 7 } },
          ...good.slice(1).map((id) => ({ id: randomUUID(), type: 'stock.created', payload: { id } })),
        ]),
      )
      const relay = new OutboxRelay({
        db: conn.db,
        logger,
        batch: 2,
        keepPublishedMs: 0,
        publish: (e) => bus.publish('stock.created', e.payload as { id: string }, { id: e.id }),
      })
      let settled = 0
      for (let n; (n = await relay.drainOnce()) > 0;) settled += n
      expect(settled).toBe(4)
      const client = new pg.Client({ connectionString: dbUrl('refusals') })
      await client.connect()
      try {
        const kept = await client.query<{ id: string; error: string | null; published_at: Date | null }>(
          'select id, error, published_at from outbox where error is not null',
        )
        expect(kept.rows).toHaveLength(1)
        expect(kept.rows[0]!.id).toBe(bad)
        expect(kept.rows[0]!.published_at).toBeNull()
        expect(kept.rows[0]!.error).toMatch(/stock\.created does not match its schema: id must be a string/)
        expect(await relay.prune()).toBe(3)
        const left = await client.query<{ id: string }>('select id from outbox')
        expect(left.rows.map((r) => r.id)).toEqual([bad])
      } finally {
        await client.end()
      }
      const broker = await connectBroker(nats.url)
      try {
        const messages = await readSubject(broker, 'refusals-events', 'refusals.events.stock.created', 100)
        expect(messages.map((m) => (JSON.parse(m.data) as { data: { id: string } }).data.id).sort()).toEqual(
          [...good].sort(),
        )
      } finally {
        await broker.close()
      }
    } finally {
      await bus.close()
      await conn.close()
    }
  }, 60_000)

  it('SIGKILLs the writing, relaying process at random moments: each committed record once in the stream', async () => {
    const bundle = join(dir, 'outbox-worker.mjs')
    await build({
      entryPoints: [join(REPO, 'test/helpers/outbox-worker.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
      external: ['pg-native'],
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    })
    const env = {
      ...process.env,
      DATABASE_URL: dbUrl('kills'),
      NATS_URL: nats.url,
      WORKSPACE: 'kills',
      MIGRATIONS: migrations,
    }
    const start = (extra: Record<string, string> = {}) => {
      const proc = spawn(process.execPath, [bundle], {
        env: { ...env, ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      proc.stdout.on('data', (b: Buffer) => (out += b.toString()))
      proc.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)))
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
      const said = (word: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => (out.includes(word) ? resolve() : undefined)
          proc.stdout.on('data', check)
          check()
          void exited.then((code) =>
            out.includes(word) ? resolve() : reject(new Error(`worker exited ${code}: ${err}`)),
          )
        })
      return { proc, exited, said }
    }
    const ROUNDS = 40
    for (let round = 0; round < ROUNDS; round++) {
      // two replicas at once on even rounds: they share the outbox (SKIP LOCKED) and the migration lock
      const workers = round % 2 === 0 ? [start(), start()] : [start()]
      await Promise.all(workers.map((w) => w.said('ready')))
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 250)))
      for (const w of workers) w.proc.kill('SIGKILL')
      await Promise.all(workers.map((w) => w.exited))
    }
    const drain = start({ WORKER_DRAIN: '1' })
    await drain.said('drained')
    expect(await drain.exited).toBe(0)
    const { rows, unsent, events } = await audit(dbUrl('kills'), nats.url, 'kills')
    expect(rows.length).toBeGreaterThan(ROUNDS)
    expect(unsent).toBe(0)
    expect(events).toHaveLength(rows.length)
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    expect(new Set(events.map((e) => e.data.id))).toEqual(new Set(rows))
  }, 150_000)
})
