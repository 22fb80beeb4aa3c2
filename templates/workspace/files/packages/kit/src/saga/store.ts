// The SQL of sagas: every statement the orchestrator runs, each one round trip. Times come from
// the orchestrator's clock (injectable), never from the database's now(), so that the backoff and
// heartbeat arithmetic of a replica and what it writes agree.
import { sql } from 'drizzle-orm'
import type { Queryable } from '../db/index.js'
import type { SagaPosition } from './plan.js'
import type { SagaAttempt, SagaState, StepOutcome, StepPhase } from './types.js'

/** A row of `sagas` as the drivers return it. */
export interface SagaRow {
  id: string
  name: string
  state: SagaState
  input: unknown
  outputs: Record<string, unknown>
  step: number
  attempt: number
  compensating_from: number | null
  error: string | null
  runner: string | null
  created_at: Date | string
  updated_at: Date | string
  next_attempt_at: Date | string
  finished_at: Date | string | null
}

interface StepRow {
  step: string
  phase: StepPhase
  attempt: number
  runner: string
  started_at: Date | string
  ended_at: Date | string | null
  outcome: StepOutcome | null
  error: string | null
  duration_ms: number | string | null
}

const at = (ms: number) => sql`${new Date(ms).toISOString()}::timestamptz`

async function rows<T>(q: Queryable, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await q.execute(query)) as unknown as { rows: T[] }).rows
}

/** A new saga, held by `runner` (so that no other replica takes it before its wake). */
export async function insertSaga(
  q: Queryable,
  saga: { id: string; name: string; input: unknown; runner: string; now: number },
): Promise<void> {
  await q.execute(sql`insert into sagas (id, name, state, input, outputs, step, attempt, runner, created_at, updated_at, next_attempt_at)
    values (${saga.id}, ${saga.name}, 'running', ${JSON.stringify(saga.input ?? null)}::jsonb, '{}'::jsonb, 0, 1, ${saga.runner}, ${at(saga.now)}, ${at(saga.now)}, ${at(saga.now)})`)
}

export interface ClaimOptions {
  runner: string
  now: number
  /** a runner whose heartbeat is older than this is gone */
  staleMs: number
  limit: number
  /** sagas this runner is driving already */
  exclude: string[]
  /** only this saga (wake) */
  id?: string
}

/**
 * Takes up to `limit` sagas that are due and not final, held by nobody, by this runner, or by a
 * runner whose heartbeat is stale (`FOR UPDATE SKIP LOCKED`: replicas claiming at once take
 * different sagas). The attempts their previous runner left open are marked `abandoned`.
 */
export async function claimSagas(q: Queryable, o: ClaimOptions): Promise<SagaRow[]> {
  const only = o.id === undefined ? sql`` : sql`and s.id = ${o.id}`
  return rows<SagaRow>(
    q,
    sql`with claimed as (
      update sagas set runner = ${o.runner}, updated_at = ${at(o.now)}
      where id in (
        select s.id from sagas s
        where s.finished_at is null and s.state in ('running', 'compensating')
          and s.next_attempt_at <= ${at(o.now)} ${only}
          and s.id not in (select jsonb_array_elements_text(${JSON.stringify(o.exclude)}::jsonb))
          and (s.runner is null or s.runner = ${o.runner} or not exists (
            select 1 from saga_runners r where r.runner = s.runner and r.heartbeat_at > ${at(o.now - o.staleMs)}))
        order by s.next_attempt_at
        limit ${o.limit}
        for update skip locked)
      returning *
    ), abandoned as (
      update saga_steps set ended_at = ${at(o.now)}, outcome = 'abandoned',
        error = 'the attempt''s end was not recorded: its runner stopped or lost the database'
      where ended_at is null and saga_id in (select id from claimed)
    )
    select * from claimed`,
  )
}

/** The compare-and-set every write of a runner carries: the saga is still where it left it. */
const held = (id: string, runner: string, p: SagaPosition) =>
  sql`id = ${id} and runner = ${runner} and state = ${p.state} and step = ${p.step} and attempt = ${p.attempt}`

/**
 * Records the start of an attempt (a `saga_steps` row), if the saga is still held by `runner` at
 * `position` and the runner's own heartbeat is younger than `freshMs`: a runner that was paused
 * long enough for others to think it gone does not call. Resolves to the row's seq, or undefined
 * when the saga is no longer this runner's to drive.
 */
export async function beginAttempt(
  q: Queryable,
  a: {
    id: string
    runner: string
    position: SagaPosition
    step: string
    phase: StepPhase
    now: number
    freshMs: number
  },
): Promise<number | undefined> {
  const [row] = await rows<{ seq: number | string }>(
    q,
    sql`with s as (
      update sagas set updated_at = ${at(a.now)}
      where ${held(a.id, a.runner, a.position)}
        and exists (select 1 from saga_runners r where r.runner = ${a.runner} and r.heartbeat_at > ${at(a.now - a.freshMs)})
      returning id
    )
    insert into saga_steps (saga_id, step, phase, attempt, runner, started_at)
    select id, ${a.step}, ${a.phase}, ${a.position.attempt}, ${a.runner}, ${at(a.now)} from s
    returning seq`,
  )
  return row ? Number(row.seq) : undefined
}

/**
 * Records how an attempt ended and moves the saga to `next`, in one statement, if the saga is still
 * held by `runner` at `position` (else nothing is written and it resolves to undefined). With
 * `begin`, the same statement records the start of the next attempt (as beginAttempt would: only
 * when the runner's heartbeat is younger than `freshMs`), and `begun` is its seq: a saga whose next
 * attempt is due at once saves that round trip.
 */
export async function finishAttempt(
  q: Queryable,
  f: {
    id: string
    runner: string
    seq: number
    position: SagaPosition
    next: SagaPosition & { delayMs: number; finished: boolean }
    step: string
    outcome: Exclude<StepOutcome, 'abandoned'>
    error: string | undefined
    durationMs: number
    /** the answer to keep under the step's name */
    output?: unknown
    /** the saga's error (why it compensates, or is stuck); undefined keeps the one it has */
    sagaError?: string
    /** the next attempt to record the start of (at `next`'s attempt number) */
    begin?: { step: string; phase: StepPhase; freshMs: number }
    now: number
  },
): Promise<{ begun: number | undefined } | undefined> {
  const outputs =
    'output' in f
      ? sql`outputs || jsonb_build_object(${f.step}::text, ${JSON.stringify(f.output ?? null)}::jsonb)`
      : sql`outputs`
  const error = f.sagaError === undefined ? sql`error` : sql`${f.sagaError}`
  const begin = f.begin
    ? sql`, begun as (
      insert into saga_steps (saga_id, step, phase, attempt, runner, started_at)
      select id, ${f.begin.step}, ${f.begin.phase}, ${f.next.attempt}, ${f.runner}, ${at(f.now)} from s
      where exists (select 1 from saga_runners r where r.runner = ${f.runner} and r.heartbeat_at > ${at(f.now - f.begin.freshMs)})
      returning seq
    )
    select (select seq from ended) as ended, (select seq from begun) as begun`
    : sql`select (select seq from ended) as ended, null as begun`
  const [row] = await rows<{ ended: number | string | null; begun: number | string | null }>(
    q,
    sql`with s as (
      update sagas set state = ${f.next.state}, step = ${f.next.step}, attempt = ${f.next.attempt},
        compensating_from = ${f.next.compensatingFrom}, error = ${error}, outputs = ${outputs},
        updated_at = ${at(f.now)}, next_attempt_at = ${at(f.now + f.next.delayMs)},
        finished_at = ${f.next.finished ? at(f.now) : sql`null`}
      where ${held(f.id, f.runner, f.position)}
      returning id
    ), ended as (
      update saga_steps set ended_at = ${at(f.now)}, outcome = ${f.outcome}, error = ${f.error ?? null},
        duration_ms = ${f.durationMs}
      where seq = ${f.seq} and exists (select 1 from s)
      returning seq
    )
    ${begin}`,
  )
  if (row?.ended === null || row?.ended === undefined) return undefined
  return { begun: row.begun === null ? undefined : Number(row.begun) }
}

/**
 * Removes the record of an attempt begun by finishAttempt that was never made (its runner closed
 * before calling it): it did not happen, so it must not count as one whose outcome is unknown.
 */
export async function dropAttempt(q: Queryable, seq: number): Promise<void> {
  await q.execute(sql`delete from saga_steps where seq = ${seq} and ended_at is null`)
}

/** Ends an attempt whose saga this runner no longer holds (the record of what it saw). */
export async function closeAttempt(
  q: Queryable,
  c: { seq: number; outcome: StepOutcome; error: string | undefined; durationMs: number; now: number },
): Promise<void> {
  await q.execute(sql`update saga_steps set ended_at = ${at(c.now)}, outcome = ${c.outcome},
    error = ${c.error ?? null}, duration_ms = ${c.durationMs} where seq = ${c.seq} and ended_at is null`)
}

/** Writes the runner's heartbeat. */
export async function beat(q: Queryable, runner: string, now: number): Promise<void> {
  await q.execute(sql`insert into saga_runners (runner, heartbeat_at) values (${runner}, ${at(now)})
    on conflict (runner) do update set heartbeat_at = excluded.heartbeat_at`)
}

/** Gives back the sagas `runner` holds but is not driving, so that others take them at once. */
export async function releaseSagas(q: Queryable, runner: string, keep: string[]): Promise<void> {
  await q.execute(sql`update sagas set runner = null where runner = ${runner} and finished_at is null
    and id not in (select jsonb_array_elements_text(${JSON.stringify(keep)}::jsonb))`)
}

/** Removes the heartbeat of `runner`, and those of runners gone for longer than `goneMs`. */
export async function dropRunners(q: Queryable, runner: string | undefined, now: number, goneMs: number) {
  await q.execute(
    sql`delete from saga_runners where runner = ${runner ?? null} or heartbeat_at < ${at(now - goneMs)}`,
  )
}

export async function selectSaga(q: Queryable, id: string): Promise<SagaRow | undefined> {
  const [row] = await rows<SagaRow>(q, sql`select * from sagas where id = ${id}`)
  return row
}

export async function selectTimeline(q: Queryable, id: string): Promise<SagaAttempt[]> {
  const found = await rows<StepRow>(
    q,
    sql`select step, phase, attempt, runner, started_at, ended_at, outcome, error, duration_ms
      from saga_steps where saga_id = ${id} order by seq`,
  )
  return found.map((r) => ({
    step: r.step,
    phase: r.phase,
    attempt: r.attempt,
    runner: r.runner,
    startedAt: iso(r.started_at),
    ...(r.ended_at !== null ? { endedAt: iso(r.ended_at) } : {}),
    ...(r.outcome !== null ? { outcome: r.outcome } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
    ...(r.duration_ms !== null ? { durationMs: Number(r.duration_ms) } : {}),
  }))
}

export async function selectSagas(
  q: Queryable,
  o: { state?: SagaState; name?: string; limit: number },
): Promise<SagaRow[]> {
  const state = o.state === undefined ? sql`` : sql`and state = ${o.state}`
  const name = o.name === undefined ? sql`` : sql`and name = ${o.name}`
  return rows<SagaRow>(
    q,
    sql`select * from sagas where true ${state} ${name} order by created_at desc, id limit ${o.limit}`,
  )
}

/** How many sagas are in one of `states` (all when empty), of one saga when `name` is given. */
export async function countSagas(q: Queryable, o: { states: SagaState[]; name?: string }): Promise<number> {
  const list = sql.join(
    o.states.map((st) => sql`${st}`),
    sql`, `,
  )
  const state = o.states.length ? sql`and state in (${list})` : sql``
  const name = o.name === undefined ? sql`` : sql`and name = ${o.name}`
  const [row] = await rows<{ n: number }>(
    q,
    sql`select count(*)::int as n from sagas where true ${state} ${name}`,
  )
  return row?.n ?? 0
}

/** Stuck sagas by name. */
export async function countStuck(q: Queryable): Promise<{ name: string; n: number }[]> {
  return rows(q, sql`select name, count(*)::int as n from sagas where state = 'stuck' group by name`)
}

/** A stuck saga back to compensating, with fresh attempts, held by nobody; false when it is not stuck. */
export async function unstick(q: Queryable, id: string, now: number): Promise<boolean> {
  const found = await rows<{ id: string }>(
    q,
    sql`update sagas set state = 'compensating', attempt = 1, runner = null,
      next_attempt_at = ${at(now)}, updated_at = ${at(now)}
    where id = ${id} and state = 'stuck' returning id`,
  )
  return found.length > 0
}

/** A time as the drivers give it (a Date, or text) in ISO form. */
export const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString()

/**
 * Whether an ended attempt of a step's call had an unknown outcome (a timeout, an error, an
 * unavailable callee, an attempt its runner abandoned): it may be applied still.
 */
export async function hasUnknownAttempt(q: Queryable, id: string, step: string): Promise<boolean> {
  const found = await rows(
    q,
    sql`select 1 from saga_steps where saga_id = ${id} and step = ${step} and phase = 'call'
      and outcome in ('timeout', 'unavailable', 'error', 'abandoned') limit 1`,
  )
  return found.length > 0
}
