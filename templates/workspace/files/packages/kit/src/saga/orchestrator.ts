import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Registry } from 'prom-client'
import type { Database, Queryable } from '../db/index.js'
import { afterCommit, currentTransaction, outsideTransaction } from '../db/transaction.js'
import type { Logger } from '../logger.js'
import { runAttempt, type AttemptRunner } from './attempt.js'
import { classifyStepError } from './classify.js'
import { createSagaMetrics, type SagaMetrics } from './metrics.js'
import { DEFAULT_RETRY_POLICY, type SagaRetryPolicy, type StepShape } from './plan.js'
import * as store from './store.js'
import type {
  AnySagaDefinition,
  SagaDefinition,
  SagaDetails,
  SagaState,
  SagaSummary,
  StepOutcome,
} from './types.js'
import { isFinalState } from './types.js'

/**
 * The runner id a replica takes from its SAGA_RUNNER setting. `hostname`: this machine's name. In
 * a container that is the container's id: the same after a restart, different for every replica,
 * and never shared by two live processes, so an owner restarted after a crash takes back its own
 * sagas at once instead of waiting staleMs for its old heartbeat to go stale (the generated compose
 * file sets it). Any other value is the id as it is; none (empty) gives a random id at every start,
 * right wherever two processes may share a host name.
 */
export function sagaRunnerId(setting: string | undefined): string | undefined {
  if (!setting) return undefined
  return setting === 'hostname' ? `host:${hostname()}` : setting
}

export interface SagaOrchestratorOptions {
  db: Database
  /** every saga this service owns */
  sagas: AnySagaDefinition[]
  logger: Logger
  /** the service's registry (Metrics.registry); no metrics without one */
  registry?: Registry
  /**
   * this replica's runner id (default: a random UUID, new at every start). A runner takes up the
   * sagas held by its own id at once: give an id only one live process can have (sagaRunnerId).
   */
  runner?: string
  /** sagas driven at once by this replica; more wait in the database for a free slot (default 64) */
  maxInFlight?: number
  /** how often the runner writes its heartbeat (default 500 ms) */
  heartbeatMs?: number
  /** a runner whose heartbeat is older is gone, and its sagas are free (default 2,000 ms) */
  staleMs?: number
  /** how often the runner looks for free sagas that are due (default 500 ms) */
  pollMs?: number
  /** how long close() waits for the attempts in flight (default 5,000 ms) */
  closeTimeoutMs?: number
  retryPolicy?: Partial<SagaRetryPolicy>
  /** how a failed attempt ended (default classifyStepError) */
  classifyError?: (error: unknown) => Exclude<StepOutcome, 'ok' | 'abandoned'>
  /** the clock, in ms since the epoch: every time written and compared (default Date.now) */
  now?: () => number
  /** [0, 1), for the backoff's jitter (default Math.random) */
  random?: () => number
}

/** A saga driven by this runner: the row as it was last written, and how to stop its attempt. */
interface Driving {
  row: store.SagaRow
  abort: AbortController
}

/** final sagas kept in memory for wait() that comes after the end (a fast saga) */
const FINISHED_KEEP_MS = 10_000

/**
 * Runs the sagas of a service whose state is in its PostgreSQL (docs/sagas.md): `start` writes a
 * saga in the caller's transaction; this replica's runner drives it step by step, writes each
 * attempt's start and end, retries unknown outcomes with backoff, compensates in reverse, and marks
 * it `stuck` when a compensation keeps failing. Each replica has one runner, with a heartbeat every
 * 500 ms; a saga whose runner's heartbeat is older than 2 s is free, and any replica takes it up.
 * Every write is a compare-and-set on (runner, state, step, attempt), so a runner that lost a saga
 * while it was paused cannot overwrite the progress of the one that took it.
 */
export class SagaOrchestrator {
  /** this replica's runner id */
  readonly runner: string
  private readonly db: Database
  private readonly logger: Logger
  private readonly definitions = new Map<string, { def: AnySagaDefinition; shapes: StepShape[] }>()
  private readonly metrics: SagaMetrics
  private readonly now: () => number
  /** what each attempt is made with */
  private readonly attempts: AttemptRunner
  private readonly maxInFlight: number
  private readonly heartbeatMs: number
  private readonly staleMs: number
  private readonly pollMs: number
  private readonly closeTimeoutMs: number

  private readonly driving = new Map<string, Driving>()
  private readonly loops = new Set<Promise<void>>()
  /** the timers that wake sagas at the end of their backoff */
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly waiters = new Map<string, Set<(s: SagaSummary) => void>>()
  private readonly finished = new Map<string, { summary: SagaSummary; at: number }>()
  private running = false
  private closing = false
  private heartbeat: NodeJS.Timeout | undefined
  /** the heartbeat being written, which close() lets end before removing it */
  private beating: Promise<void> | undefined
  /** when the last heartbeat in the database was taken (what other runners judge this one by) */
  private lastBeat = -Infinity
  private poller: Promise<void> | undefined
  private wakePoller: (() => void) | undefined

  constructor(opts: SagaOrchestratorOptions) {
    this.db = opts.db
    this.logger = opts.logger
    this.runner = opts.runner ?? randomUUID()
    this.now = opts.now ?? Date.now
    this.maxInFlight = opts.maxInFlight ?? 64
    this.heartbeatMs = opts.heartbeatMs ?? 500
    this.staleMs = opts.staleMs ?? 2_000
    this.pollMs = opts.pollMs ?? 500
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 5_000
    for (const def of opts.sagas) {
      if (this.definitions.has(def.name)) throw new Error(`saga ${def.name} is defined twice`)
      if (def.steps.length === 0) throw new Error(`saga ${def.name} has no steps`)
      const names = new Set(def.steps.map((s) => s.name))
      if (names.size !== def.steps.length) throw new Error(`saga ${def.name} has two steps of one name`)
      const shapes = def.steps.map((s) => ({
        retries: s.retries ?? 0,
        hasCompensation: s.compensate !== undefined,
        local: s.local === true,
      }))
      this.definitions.set(def.name, { def, shapes })
    }
    this.metrics = createSagaMetrics(opts.registry, () => this.readStuck())
    this.attempts = {
      db: this.db,
      runner: this.runner,
      now: this.now,
      random: opts.random ?? Math.random,
      policy: { ...DEFAULT_RETRY_POLICY, ...opts.retryPolicy },
      classify: opts.classifyError ?? classifyStepError,
      metrics: this.metrics,
      freshMs: this.staleMs - this.heartbeatMs,
    }
  }

  /**
   * Writes a new saga of `saga` with `input` through `tx` (the caller's transaction: the owner's
   * create and the saga's row commit together) and resolves to its id. It runs after the commit:
   * at once when `tx` is the transaction of inTransaction (db/transaction.ts) or `db` itself;
   * after any other transaction, call wake(id) once it committed (else the next poll takes it,
   * within pollMs).
   */
  async start<I>(tx: Queryable, saga: SagaDefinition<I> | string, input: I): Promise<string> {
    const name = typeof saga === 'string' ? saga : saga.name
    if (!this.definitions.has(name)) throw new Error(`no saga named ${name}`)
    const id = randomUUID()
    const now = this.now()
    await store.insertSaga(tx, { id, name, input, runner: this.runner, now })
    // the row as written: held by this runner, so it is driven from it with no claim to read it back
    const at = new Date(now)
    const row: store.SagaRow = {
      id,
      name,
      state: 'running',
      input: JSON.parse(JSON.stringify(input ?? null)) as unknown,
      outputs: {},
      step: 0,
      attempt: 1,
      compensating_from: null,
      error: null,
      runner: this.runner,
      created_at: at,
      updated_at: at,
      next_attempt_at: at,
      finished_at: null,
    }
    const started = () => {
      this.metrics.started.inc({ saga: name })
      if (this.running && !this.closing && !this.driving.has(id) && this.driving.size < this.maxInFlight)
        this.drive(row)
    }
    if (tx === this.db) started()
    else if (currentTransaction(this.db) === tx) afterCommit(this.db, started)
    else this.metrics.started.inc({ saga: name })
    return id
  }

  /** Runs saga `id` now if it is due and free and a slot is; otherwise the poller takes it later. */
  wake(id: string): void {
    if (!this.running || this.closing || this.driving.has(id) || this.driving.size >= this.maxInFlight) return
    void this.claim(id).catch((err: unknown) =>
      this.logger.warn({ err, sagaId: id }, 'saga: claiming failed'),
    )
  }

  /**
   * Resolves when saga `id` has completed or been compensated, or after `ms`, to its summary then
   * (undefined when there is no such saga): what the entry route answers (201 or 202).
   */
  async wait(id: string, ms: number): Promise<SagaSummary | undefined> {
    const deadline = Date.now() + ms
    let last: SagaSummary | undefined
    for (;;) {
      const known = this.finished.get(id)?.summary
      if (known) return known
      const left = deadline - Date.now()
      if (left <= 0) break
      // driven here: woken by its writes; elsewhere (or waiting out a backoff): read every 100 ms
      const local = this.driving.has(id)
      const changed = await new Promise<SagaSummary | undefined>((resolve) => {
        const waiters = this.waiters.get(id) ?? new Set()
        this.waiters.set(id, waiters)
        const done = (s: SagaSummary | undefined) => {
          clearTimeout(timer)
          waiters.delete(done)
          if (waiters.size === 0) this.waiters.delete(id)
          resolve(s)
        }
        const timer = setTimeout(() => done(undefined), Math.min(left, local ? 500 : 100))
        waiters.add(done)
      })
      if (changed) {
        last = changed
        if (isFinalState(changed.state)) return changed
      } else if (!this.driving.has(id)) {
        last = await this.summary(id)
        if (!last || isFinalState(last.state)) return last
      }
    }
    return (await this.summary(id)) ?? last
  }

  /** A saga and its timeline (every attempt of every step and compensation), or undefined. */
  async get(id: string): Promise<SagaDetails | undefined> {
    const row = await store.selectSaga(this.db, id)
    if (!row) return undefined
    return { ...this.toSummary(row), timeline: await store.selectTimeline(this.db, id) }
  }

  /** Sagas, newest first: all, or those in `state` (`stuck`, say) or of one saga. */
  async list(filter: { state?: SagaState; name?: string; limit?: number } = {}): Promise<SagaSummary[]> {
    const limit = Math.max(1, Math.min(filter.limit ?? 50, 1000))
    const rows = await store.selectSagas(this.db, { ...filter, limit })
    return rows.map((r) => this.toSummary(r))
  }

  /** How many sagas are in one of `states` (all when none is given), of one saga when `name` is given. */
  count(filter: { states?: SagaState[]; name?: string } = {}): Promise<number> {
    return store.countSagas(this.db, {
      states: filter.states ?? [],
      ...(filter.name !== undefined ? { name: filter.name } : {}),
    })
  }

  /**
   * A stuck saga back to `compensating` with fresh attempts (once the cause is fixed); resolves to
   * false when it is not stuck. It runs at once here, or on whichever replica claims it first.
   */
  async retry(id: string): Promise<boolean> {
    const ok = await store.unstick(this.db, id, this.now())
    if (ok) {
      this.logger.info({ sagaId: id }, 'saga: retrying its compensations')
      this.wake(id)
    }
    return ok
  }

  /**
   * Starts the runner: writes its heartbeat (then every heartbeatMs) and takes up the sagas that are
   * due, its own and those of runners gone (at start: every saga a crashed replica left).
   */
  async run(): Promise<void> {
    if (this.running) return
    this.running = true
    this.closing = false
    await this.beat()
    // the next heartbeat is timed from the end of the last: a slow database gets no pile of them
    const next = () => {
      this.heartbeat = setTimeout(() => {
        this.beating = this.beat()
          .catch((err: unknown) => this.logger.warn({ err }, 'saga: heartbeat not written'))
          .finally(() => {
            if (this.running) next()
          })
      }, this.heartbeatMs)
      this.heartbeat.unref()
    }
    next()
    this.poller = this.poll()
  }

  /** Writes the heartbeat, and notes when it was taken once it is in the database. */
  private async beat(): Promise<void> {
    const at = this.now()
    await store.beat(this.db, this.runner, at)
    this.lastBeat = Math.max(this.lastBeat, at)
  }

  /**
   * Stops taking sagas, waits up to closeTimeoutMs for the attempts in flight to be recorded, gives
   * back the sagas this runner holds (others take them at once) and removes its heartbeat.
   */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.wakePoller?.()
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    await this.poller
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.closeTimeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.loops]), bound])
    clearTimeout(timer)
    // what is still in flight is abandoned: the attempt's signal says so to the step
    for (const d of this.driving.values()) d.abort.abort(new Error('the saga orchestrator is closing'))
    this.running = false
    clearTimeout(this.heartbeat)
    await this.beating
    const stillDriving = [...this.driving.keys()]
    try {
      await store.releaseSagas(this.db, this.runner, stillDriving)
      // with attempts still in flight the heartbeat is left to go stale: their sagas are free in staleMs
      if (stillDriving.length === 0) await store.dropRunners(this.db, this.runner, this.now(), 3_600_000)
    } catch (err) {
      this.logger.warn(
        { err },
        'saga: could not give back the sagas of this runner; they are free once its heartbeat is stale',
      )
    }
  }

  /** Looks for due sagas every pollMs (at once when a slot frees after a full claim). */
  private async poll(): Promise<void> {
    let lastPrune = 0
    let failures = 0
    while (!this.closing) {
      let full = false
      try {
        const free = this.maxInFlight - this.driving.size
        if (free > 0) full = (await this.claim(undefined, free)) === free
        if (this.now() - lastPrune > 60_000) {
          lastPrune = this.now()
          await store.dropRunners(this.db, undefined, this.now(), 3_600_000)
        }
        failures = 0
      } catch (err) {
        // the database is away: one line, then one every 20 polls
        if (failures++ % 20 === 0)
          this.logger.warn({ err, failures }, 'saga: looking for sagas to run failed, retrying')
      }
      if (this.closing) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, full ? Math.min(this.pollMs, 20) : this.pollMs)
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.wakePoller = done
      })
    }
  }

  /** Claims sagas (one by id, or up to `limit` due ones) and starts driving each; resolves to how many. */
  private async claim(id?: string, limit = 1): Promise<number> {
    const rows = await store.claimSagas(this.db, {
      runner: this.runner,
      now: this.now(),
      staleMs: this.staleMs,
      limit,
      exclude: [...this.driving.keys()],
      ...(id !== undefined ? { id } : {}),
    })
    for (const row of rows) {
      // claimed meanwhile by a wake of this runner: that loop drives it
      if (this.driving.has(row.id) || this.closing) continue
      this.drive(row)
    }
    return rows.length
  }

  private drive(row: store.SagaRow): void {
    const driving: Driving = { row, abort: new AbortController() }
    this.driving.set(row.id, driving)
    this.metrics.inFlight.set(this.driving.size)
    // a wake from inside a transaction must not make the saga's local steps join it
    const loop = outsideTransaction(() => this.steps(driving))
      .catch((err: unknown) =>
        // the database failed under a write: the saga stays held, and is claimed again
        this.logger.warn({ err, sagaId: row.id, saga: row.name }, 'saga: stopped, will resume'),
      )
      .finally(() => {
        this.driving.delete(row.id)
        this.loops.delete(loop)
        this.metrics.inFlight.set(this.driving.size)
        if (!this.closing && this.driving.size === this.maxInFlight - 1) this.wakePoller?.()
      })
    this.loops.add(loop)
  }

  /** Attempts after attempt until the saga ends, waits out a backoff, or is lost. */
  private async steps(d: Driving): Promise<void> {
    const entry = this.definitions.get(d.row.name)
    const log = this.logger.child({ sagaId: d.row.id, saga: d.row.name })
    if (!entry) {
      log.error('saga: no definition of this name in this service; left as it is')
      return
    }
    // the next attempt's start, recorded with the last one's end (when it was due at once)
    let begun: number | undefined
    try {
      while (!this.closing) {
        const row = d.row
        if (row.state !== 'running' && row.state !== 'compensating') return
        if (begun === undefined) {
          const dueIn = new Date(row.next_attempt_at).getTime() - this.now()
          if (dueIn > 0) return this.later(row.id, dueIn)
          // others may soon think this runner gone: no call before the next heartbeat is in (the
          // attempt's start checks the same in the database; this spares it the round trip)
          if (this.now() - this.lastBeat > this.attempts.freshMs) return this.later(row.id, this.heartbeatMs)
        }
        const done = await runAttempt(this.attempts, row, d.abort.signal, entry.def, entry.shapes, log, begun)
        begun = undefined
        if (!done) return
        begun = done.begun
        d.row = done.row
        this.changed(done.row)
        if (isFinalState(done.row.state) || done.row.state === 'stuck') return
      }
    } finally {
      // closing before the attempt whose start is recorded: it was never made
      if (begun !== undefined) await store.dropAttempt(this.db, begun)
    }
  }

  /** The saga waits out a backoff: its slot frees, and a timer wakes it when due. */
  private later(id: string, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.wake(id)
    }, ms)
    timer.unref()
    this.timers.add(timer)
  }

  /** Tells wait() of a saga's new state. */
  private changed(row: store.SagaRow): void {
    const summary = this.toSummary(row)
    if (isFinalState(row.state)) {
      const now = Date.now()
      this.finished.set(row.id, { summary, at: now })
      for (const [id, f] of this.finished) {
        if (now - f.at < FINISHED_KEEP_MS && this.finished.size <= 10_000) break
        this.finished.delete(id)
      }
    }
    for (const done of this.waiters.get(row.id) ?? []) done(summary)
  }

  private toSummary(row: store.SagaRow): SagaSummary {
    const steps = this.definitions.get(row.name)?.def.steps
    const stepName = row.state === 'completed' ? undefined : steps?.[row.step]?.name
    const failed = row.compensating_from === null ? undefined : steps?.[row.compensating_from]?.name
    return {
      id: row.id,
      name: row.name,
      state: row.state,
      ...(stepName !== undefined ? { step: stepName } : {}),
      attempt: row.attempt,
      ...(failed !== undefined ? { failedStep: failed } : {}),
      ...(row.error !== null ? { error: row.error } : {}),
      input: row.input,
      outputs: row.outputs,
      ...(row.runner !== null ? { runner: row.runner } : {}),
      createdAt: store.iso(row.created_at),
      updatedAt: store.iso(row.updated_at),
      nextAttemptAt: store.iso(row.next_attempt_at),
      ...(row.finished_at !== null ? { finishedAt: store.iso(row.finished_at) } : {}),
    }
  }

  private async summary(id: string): Promise<SagaSummary | undefined> {
    const row = await store.selectSaga(this.db, id)
    return row ? this.toSummary(row) : undefined
  }

  private async readStuck(): Promise<Map<string, number>> {
    const counts = new Map([...this.definitions.keys()].map((name) => [name, 0]))
    for (const { name, n } of await store.countStuck(this.db)) counts.set(name, n)
    return counts
  }
}
