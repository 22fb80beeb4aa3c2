/**
 * A postgres service's tables, derived from its aggregate's fields: one description that both the
 * generated Drizzle schema (src/db/schema.ts of the service) and the migrations msvc generates are
 * built from, so that the two cannot disagree.
 */
import type { FieldSpec } from '../workspace/fields.js'
import { toEntityFields, type ServiceSpec, type Workspace } from '../workspace/model.js'
import { toSingular } from '../workspace/names.js'

export type ColumnKind =
  'text' | 'uuid' | 'integer' | 'bigint' | 'bigserial' | 'doublePrecision' | 'boolean' | 'timestamp' | 'jsonb'

export interface ColumnSpec {
  /** the property in TypeScript (camelCase) */
  key: string
  /** the column in SQL (snake_case) */
  column: string
  kind: ColumnKind
  notNull: boolean
  primaryKey?: boolean
  unique?: boolean
  /** a constant default (`0`, `'raw'`, `[]`) */
  default?: unknown
  /** `now()` as the default */
  defaultNow?: boolean
  /** the field a column holds (absent for id, seq, version and the times) */
  field?: FieldSpec
}

export interface IndexSpec {
  name: string
  columns: string[]
  /** a partial index: only rows whose column is null */
  whereNull?: string
}

export interface TableSpec {
  /** the table's name in SQL */
  name: string
  /** its name in TypeScript */
  variable: string
  columns: ColumnSpec[]
  indexes: IndexSpec[]
}

export const toSnakeCase = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase()

const toCamel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The column of one top-level field. */
function fieldColumn(f: FieldSpec): ColumnSpec {
  const kind: ColumnKind =
    f.type.kind === 'string' || f.type.kind === 'enum'
      ? 'text'
      : f.type.kind === 'uuid'
        ? 'uuid'
        : f.type.kind === 'integer'
          ? 'bigint'
          : f.type.kind === 'number'
            ? 'doublePrecision'
            : f.type.kind === 'boolean'
              ? 'boolean'
              : f.type.kind === 'timestamp'
                ? 'timestamp'
                : 'jsonb'
  // present on every record (required, defaulted, a list): NOT NULL, with the default in SQL too
  const dflt = f.default ?? (f.type.kind === 'array' && !f.required ? [] : undefined)
  return {
    key: f.name,
    column: toSnakeCase(f.name),
    kind,
    notNull: f.required || dflt !== undefined,
    ...(f.unique ? { unique: true } : {}),
    ...(dflt !== undefined ? { default: dflt } : {}),
    field: f,
  }
}

/**
 * The aggregate's table: `id`, a `seq` that orders records as they were created (a page is
 * stable even when two share a millisecond), the fields, `version` and the times.
 */
export function toEntityTable(spec: ServiceSpec): TableSpec {
  const name = toSnakeCase(spec.resource)
  const columns: ColumnSpec[] = [
    { key: 'id', column: 'id', kind: 'text', notNull: true, primaryKey: true },
    { key: 'seq', column: 'seq', kind: 'bigserial', notNull: true },
    ...toEntityFields(spec).map(fieldColumn),
    { key: 'version', column: 'version', kind: 'integer', notNull: true },
    { key: 'createdAt', column: 'created_at', kind: 'timestamp', notNull: true },
    { key: 'updatedAt', column: 'updated_at', kind: 'timestamp', notNull: true },
  ]
  return {
    name,
    variable: toCamel(name),
    columns,
    indexes: [{ name: `${name}_seq_idx`, columns: ['seq'] }],
  }
}

/** The transactional outbox: events committed with the change that caused them, then relayed. */
export const OUTBOX_TABLE: TableSpec = {
  name: 'outbox',
  variable: 'outbox',
  columns: [
    { key: 'id', column: 'id', kind: 'uuid', notNull: true, primaryKey: true },
    { key: 'seq', column: 'seq', kind: 'bigserial', notNull: true },
    { key: 'type', column: 'type', kind: 'text', notNull: true },
    { key: 'payload', column: 'payload', kind: 'jsonb', notNull: true },
    { key: 'createdAt', column: 'created_at', kind: 'timestamp', notNull: true, defaultNow: true },
    { key: 'publishedAt', column: 'published_at', kind: 'timestamp', notNull: false },
    // why the relay refused it (a payload its schema rejects): kept, never published, logged
    { key: 'error', column: 'error', kind: 'text', notNull: false },
  ],
  indexes: [{ name: 'outbox_unpublished_idx', columns: ['seq'], whereNull: 'published_at' }],
}

/**
 * A saga's state in the owner's database (docs/sagas.md): one row a saga, written by the kit's
 * SagaOrchestrator with a compare-and-set on (runner, state, step, attempt), so that a runner
 * that lost the saga to another cannot overwrite its progress.
 */
export const SAGAS_TABLE: TableSpec = {
  name: 'sagas',
  variable: 'sagas',
  columns: [
    { key: 'id', column: 'id', kind: 'text', notNull: true, primaryKey: true },
    { key: 'name', column: 'name', kind: 'text', notNull: true },
    // running, completed, compensating, compensated, stuck
    { key: 'state', column: 'state', kind: 'text', notNull: true },
    { key: 'input', column: 'input', kind: 'jsonb', notNull: true },
    // each completed step's answer, by step name
    { key: 'outputs', column: 'outputs', kind: 'jsonb', notNull: true, default: {} },
    // the index of the step being called, or whose compensation is being called
    { key: 'step', column: 'step', kind: 'integer', notNull: true, default: 0 },
    // the attempt of that call (1 for the first)
    { key: 'attempt', column: 'attempt', kind: 'integer', notNull: true, default: 1 },
    // the index of the step whose failure started the compensations
    { key: 'compensatingFrom', column: 'compensating_from', kind: 'integer', notNull: false },
    { key: 'error', column: 'error', kind: 'text', notNull: false },
    // the runner (one a replica) that holds the saga; free once its heartbeat is stale
    { key: 'runner', column: 'runner', kind: 'text', notNull: false },
    { key: 'createdAt', column: 'created_at', kind: 'timestamp', notNull: true, defaultNow: true },
    { key: 'updatedAt', column: 'updated_at', kind: 'timestamp', notNull: true, defaultNow: true },
    // not to be called again before (the backoff after a failed attempt)
    { key: 'nextAttemptAt', column: 'next_attempt_at', kind: 'timestamp', notNull: true, defaultNow: true },
    // set when it completed or was compensated: the sagas still to run are those without
    { key: 'finishedAt', column: 'finished_at', kind: 'timestamp', notNull: false },
  ],
  indexes: [
    // what runners claim: sagas not finished, by when they are due
    { name: 'sagas_open_idx', columns: ['next_attempt_at'], whereNull: 'finished_at' },
    // `msvc saga ls --state`, newest first
    { name: 'sagas_state_idx', columns: ['state', 'created_at'] },
  ],
}

/** A saga's timeline: one row per attempt of a step or of its compensation. */
export const SAGA_STEPS_TABLE: TableSpec = {
  name: 'saga_steps',
  variable: 'sagaSteps',
  columns: [
    { key: 'seq', column: 'seq', kind: 'bigserial', notNull: true, primaryKey: true },
    { key: 'sagaId', column: 'saga_id', kind: 'text', notNull: true },
    { key: 'step', column: 'step', kind: 'text', notNull: true },
    // call or compensate
    { key: 'phase', column: 'phase', kind: 'text', notNull: true },
    { key: 'attempt', column: 'attempt', kind: 'integer', notNull: true },
    { key: 'runner', column: 'runner', kind: 'text', notNull: true },
    { key: 'startedAt', column: 'started_at', kind: 'timestamp', notNull: true },
    { key: 'endedAt', column: 'ended_at', kind: 'timestamp', notNull: false },
    // ok, refused, timeout, unavailable, error, abandoned; null while the attempt runs
    { key: 'outcome', column: 'outcome', kind: 'text', notNull: false },
    { key: 'error', column: 'error', kind: 'text', notNull: false },
    { key: 'durationMs', column: 'duration_ms', kind: 'doublePrecision', notNull: false },
  ],
  indexes: [{ name: 'saga_steps_saga_idx', columns: ['saga_id', 'seq'] }],
}

/** One row a saga runner (a replica of the owner): its heartbeat, every 500 ms. */
export const SAGA_RUNNERS_TABLE: TableSpec = {
  name: 'saga_runners',
  variable: 'sagaRunners',
  columns: [
    { key: 'runner', column: 'runner', kind: 'text', notNull: true, primaryKey: true },
    { key: 'heartbeatAt', column: 'heartbeat_at', kind: 'timestamp', notNull: true },
  ],
  indexes: [],
}

/**
 * The answers of operations called with an idempotency key, stored in the transaction of the
 * operation's change: a key seen before gets its stored answer and changes nothing.
 */
export const IDEMPOTENCY_TABLE: TableSpec = {
  name: 'idempotency_keys',
  variable: 'idempotencyKeys',
  columns: [
    { key: 'key', column: 'key', kind: 'text', notNull: true, primaryKey: true },
    { key: 'operation', column: 'operation', kind: 'text', notNull: true },
    { key: 'answer', column: 'answer', kind: 'jsonb', notNull: false },
    { key: 'createdAt', column: 'created_at', kind: 'timestamp', notNull: true, defaultNow: true },
  ],
  // pruning deletes the oldest
  indexes: [{ name: 'idempotency_keys_created_idx', columns: ['created_at'] }],
}

/** The tables a saga's owner needs, beside its entity's and the outbox. */
export const SAGA_TABLES: TableSpec[] = [SAGAS_TABLE, SAGA_STEPS_TABLE, SAGA_RUNNERS_TABLE]

/**
 * Every table of a postgres service, in the order the schema declares them: its entity's, the
 * outbox, the idempotency keys when it has operations (a saga may call any of them with a key:
 * docs/sagas.md), and the saga tables when it owns a saga.
 */
export const toServiceTables = (spec: ServiceSpec, ownsSaga = false): TableSpec[] => [
  toEntityTable(spec),
  OUTBOX_TABLE,
  ...(spec.operations?.length ? [IDEMPOTENCY_TABLE] : []),
  ...(ownsSaga ? SAGA_TABLES : []),
]

/** True when a saga of the workspace is owned by (runs in) the service. */
export const ownsSaga = (ws: Pick<Workspace, 'sagas'>, service: string): boolean =>
  Object.values(ws.sagas ?? {}).some((s) => s.owner === service)

/** The tables of the workspace's service `name` (a postgres one). */
export const workspaceServiceTables = (ws: Workspace, name: string): TableSpec[] =>
  toServiceTables(ws.services[name]!, ownsSaga(ws, name))

/** The entity's singular name, for messages. */
export const entityNameOf = (spec: ServiceSpec) => toSingular(spec.resource)
