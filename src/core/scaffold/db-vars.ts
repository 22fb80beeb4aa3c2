/**
 * What the templates of a postgres service know of its tables: the Drizzle schema as TypeScript
 * and the mapping between a row and the aggregate, from the same TableSpec the migrations are
 * generated from (core/db/table.ts).
 */
import { databaseSettings } from '../compose/build-stack.js'
import { OUTBOX_TABLE, toEntityTable, toServiceTables, type ColumnSpec, type TableSpec } from '../db/table.js'
import type { ServiceSpec } from '../workspace/model.js'
import { toPascalCase, toSingular } from '../workspace/names.js'
import { tsType } from './entity-vars.js'
import { PRINT_WIDTH, toTs } from './ts-literal.js'

/** `sku: text('sku').notNull().unique(),`, laid out as prettier lays out a member chain. */
function columnLine(c: ColumnSpec, owner: string): string {
  const args =
    c.kind === 'bigint' || c.kind === 'bigserial'
      ? `'${c.column}', { mode: 'number' }`
      : c.kind === 'timestamp'
        ? `'${c.column}', { withTimezone: true, mode: 'date' }`
        : c.kind === 'text' && c.field?.type.kind === 'enum'
          ? `'${c.column}', { enum: ${toTs(c.field.type.values)} }`
          : `'${c.column}'`
  const calls = [`${c.kind}(${args})`]
  if (c.kind === 'jsonb')
    calls.push(`$type<${c.field ? tsType(owner, c.field) : 'Record<string, unknown>'}>()`)
  if (c.primaryKey) calls.push('primaryKey()')
  if (c.notNull && !c.primaryKey) calls.push('notNull()')
  if (c.unique) calls.push('unique()')
  if (c.default !== undefined) calls.push(`default(${toTs(c.default)})`)
  if (c.defaultNow) calls.push('defaultNow()')
  const inline = `    ${c.key}: ${calls.join('.')},`
  // prettier breaks a chain of more than two calls when an argument nests (an object holding a
  // list, say), and any chain that does not fit
  const nests = (v: unknown) =>
    typeof v === 'object' && v !== null && Object.values(v).some((x) => typeof x === 'object' && x !== null)
  const complex = (c.field?.type.kind === 'enum' && c.kind === 'text') || nests(c.default)
  if (!(calls.length > 2 && complex) && inline.length <= PRINT_WIDTH) return inline
  // a chain of two calls is not broken: the first call's object argument is, hugged
  if (calls.length <= 2 && c.kind === 'text' && c.field?.type.kind === 'enum') {
    const values = toTs(c.field.type.values, 6, '      enum: '.length, 1)
    const rest = calls.slice(1).map((x) => `.${x}`)
    return `    ${c.key}: ${c.kind}('${c.column}', {\n      enum: ${values},\n    })${rest.join('')},`
  }
  return `    ${c.key}: ${calls[0]}\n${calls
    .slice(1)
    .map((x) => `      .${x}`)
    .join('\n')},`
}

function tableTs(t: TableSpec, owner: string): string {
  const columns = t.columns.map((c) => columnLine(c, owner)).join('\n')
  const indexes = t.indexes.map((i) => {
    const on = i.columns.map((c) => `t.${t.columns.find((x) => x.column === c)!.key}`).join(', ')
    const where = i.whereNull
      ? `.where(isNull(t.${t.columns.find((x) => x.column === i.whereNull)!.key}))`
      : ''
    return `index('${i.name}').on(${on})${where}`
  })
  const inline = indexes.length ? `  (t) => [${indexes.join(', ')}],` : '  () => [],'
  // prettier puts the list on lines of their own when it does not fit on one
  const list =
    inline.length <= PRINT_WIDTH ? inline : `  (t) => [\n${indexes.map((i) => `    ${i},\n`).join('')}  ],`
  return `export const ${t.variable} = pgTable(\n  '${t.name}',\n  {\n${columns}\n  },\n${list}\n)`
}

/**
 * The name PostgreSQL gives a unique constraint drizzle-kit declares: `<table>_<column>_unique`,
 * cut to 63 bytes as PostgreSQL cuts every identifier (the name its errors then carry).
 */
export const uniqueConstraintName = (table: string, column: string): string =>
  Buffer.from(`${table}_${column}_unique`).subarray(0, 63).toString()

/** What each table beyond the entity's and the outbox is for, as schema.ts says it. */
const TABLE_COMMENTS: Record<string, string> = {
  idempotency_keys:
    'The answers of operations called with an idempotency key, stored with their change (docs/sagas.md).',
  sagas: "The sagas this service runs: each one's state, input and the outputs of its steps.",
  saga_steps: "The sagas' timelines: one row per attempt of a step or of its compensation.",
  saga_runners: "The saga runners (this service's replicas) and their heartbeats.",
}

/**
 * `tables`: every table of the service (`workspaceServiceTables`); the entity's and the outbox come
 * first, the others (idempotency keys, the saga tables) are declared after them.
 */
export function toDbVars(spec: ServiceSpec, service: string, tables: TableSpec[] = toServiceTables(spec)) {
  const entity = toPascalCase(toSingular(spec.resource))
  const table = toEntityTable(spec)
  const extra = tables.filter((t) => t.name !== table.name && t.name !== OUTBOX_TABLE.name)
  const kinds = new Set(
    [...table.columns, ...OUTBOX_TABLE.columns, ...extra.flatMap((t) => t.columns)].map((c) => c.kind),
  )
  const fieldColumns = table.columns.filter((c) => c.field)
  // the nested types a jsonb column names, imported from the model
  const jsonTypes = [
    ...new Set(
      fieldColumns
        .filter((c) => c.kind === 'jsonb')
        .flatMap((c) => tsType(entity, c.field!).match(/\b[A-Z]\w*/g) ?? []),
    ),
  ].sort()
  return {
    /** DATABASE_URL's default: the service's database on the compose network, as compose sets it */
    defaultUrl: databaseSettings(service).url,
    /** the DATABASE_URL line of config.ts, broken as prettier breaks it when long */
    urlConfigTs: (() => {
      const head = `  DATABASE_URL: env.string(`
      const arg = toTs(databaseSettings(service).url)
      return head.length + arg.length + 2 <= PRINT_WIDTH ? `${head}${arg}),` : `${head}\n    ${arg},\n  ),`
    })(),
    table: table.name,
    /** what every prepared statement's name starts with: the table's name, cut to 40 bytes so that
     * PostgreSQL (which keeps 63) keeps each name whole */
    statementPrefix: Buffer.from(table.name).subarray(0, 40).toString(),
    variable: table.variable,
    /** drizzle-orm/pg-core's builders the schema uses, sorted */
    builders: ['index', 'pgTable', ...kinds].sort(),
    jsonTypes,
    entityTableTs: tableTs(table, entity),
    outboxTableTs: tableTs(OUTBOX_TABLE, entity),
    /** the other tables (idempotency keys, the saga tables), each with what it is for */
    extraTables: extra.map((t) => ({ comment: TABLE_COMMENTS[t.name] ?? '', ts: tableTs(t, entity) })),
    /** `    sku: item.sku,` lines: the aggregate as a row */
    toRowLines: fieldColumns.map((c) => {
      const v = `item.${c.key}`
      const f = c.field!
      const expr =
        f.type.kind === 'timestamp'
          ? c.notNull
            ? `new Date(${v})`
            : `${v} === undefined ? null : new Date(${v})`
          : c.notNull
            ? v
            : `${v} ?? null`
      return `    ${c.key}: ${expr},`
    }),
    /** `    ...(row.note !== null ? { note: row.note } : {}),` lines: a row as the aggregate */
    toEntityLines: fieldColumns.map((c) => {
      const v = `row.${c.key}`
      const value = c.field!.type.kind === 'timestamp' ? `${v}.toISOString()` : v
      return c.notNull ? `    ${c.key}: ${value},` : `    ...(${v} !== null ? { ${c.key}: ${value} } : {}),`
    }),
    /** unique constraints as Postgres names them, and the field each guards, as an object literal */
    uniqueTs: toTs(
      Object.fromEntries(
        table.columns.filter((c) => c.unique).map((c) => [uniqueConstraintName(table.name, c.column), c.key]),
      ),
      0,
      'const UNIQUE: Record<string, string> = '.length,
    ),
  }
}
