/**
 * A postgres service's tables, derived from its aggregate's fields: one description that both the
 * generated Drizzle schema (src/db/schema.ts of the service) and the migrations msvc generates are
 * built from, so that the two cannot disagree.
 */
import type { FieldSpec } from '../workspace/fields.js'
import { toEntityFields, type ServiceSpec } from '../workspace/model.js'
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

/** Every table of a postgres service, in the order the schema declares them. */
export const toServiceTables = (spec: ServiceSpec): TableSpec[] => [toEntityTable(spec), OUTBOX_TABLE]

/** The entity's singular name, for messages. */
export const entityNameOf = (spec: ServiceSpec) => toSingular(spec.resource)
