/**
 * An aggregate's operations beyond CRUD (issue #15): `reserve`, `refund`, `confirm`... each with a
 * typed input, whether it is idempotent, whether it acts on one record (`POST /<resource>/:id/<op>`)
 * or on the collection (`POST /<resource>/<op>`), and the events it publishes. Read from the
 * `--operations` flag (`reserve(sku:string!,quantity:integer!),release(...)`) or from msvc.yaml.
 */
import {
  parseFieldsFlag,
  parseFieldsYaml,
  splitTop,
  toFieldsYaml,
  type FieldProblem,
  type FieldSpec,
} from './fields.js'

export interface OperationSpec {
  name: string
  input: FieldSpec[]
  idempotent: boolean
  /** `record`: POST /<resource>/:id/<name>; `collection`: POST /<resource>/<name> */
  on: 'record' | 'collection'
  publishes: string[]
  /**
   * what it answers, when not the record (or, on the collection, the records) it changed: a
   * login's token, a quote's price. msvc.yaml only (`returns: { token: string! }`)
   */
  returns?: FieldSpec[]
}

export type OperationsResult =
  { ok: true; operations: OperationSpec[] } | { ok: false; problems: FieldProblem[] }

/** The routes and RPCs every resource has already: an operation may not take their names. */
export const CRUD_NAMES = ['create', 'get', 'list', 'count', 'update', 'delete'] as const

/** Members of the generated `<Entity>Crud` class that an operation's method would clash with. */
export const CRUD_MEMBERS = ['change', 'now', 'repo', 'onCreated', 'createdEvents', 'constructor'] as const

const NAME = /^[a-z][A-Za-z0-9]*$/

/**
 * `reserve(sku:string!,quantity:integer!),release(sku:string!,quantity:integer!)`; a trailing
 * `~` marks an idempotent one (`confirm()~`), a leading `*` one that acts on the collection
 * (`*import(file:string!)`).
 */
export function parseOperationsFlag(text: string): OperationsResult {
  const problems: FieldProblem[] = []
  const operations: OperationSpec[] = []
  for (const part of splitTop(text, ',')) {
    const m = /^(\*)?\s*([^(\s]+)\s*\((.*)\)\s*(~)?$/s.exec(part)
    if (!m) {
      problems.push({
        field: part,
        message: `"${part}" is not an operation`,
        hint: 'write name(field:type,...), e.g. reserve(sku:string!,quantity:integer!)',
      })
      continue
    }
    const input = m[3]!.trim() === '' ? { ok: true as const, fields: [] } : parseFieldsFlag(m[3]!)
    if (!input.ok) {
      for (const p of input.problems) problems.push({ ...p, field: `${m[2]}(${p.field})` })
      continue
    }
    operations.push({
      name: m[2]!,
      input: input.fields,
      idempotent: m[4] === '~',
      on: m[1] ? 'collection' : 'record',
      publishes: [],
    })
  }
  return finish(operations, problems)
}

const KEYS = ['input', 'idempotent', 'on', 'publishes', 'returns']

/** `operations:` of msvc.yaml: `reserve: { input: { sku: string! }, idempotent: false, on: record, publishes: [x.y] }`. */
export function parseOperationsYaml(value: unknown): OperationsResult {
  const problems: FieldProblem[] = []
  const operations: OperationSpec[] = []
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, problems: [{ field: '', message: 'operations must be a map of name to operation' }] }
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const spec = (raw ?? {}) as Record<string, unknown>
    if (typeof spec !== 'object' || Array.isArray(spec)) {
      problems.push({
        field: name,
        message: 'is not a map',
        hint: 'e.g. reserve: { input: { sku: string! } }',
      })
      continue
    }
    for (const k of Object.keys(spec))
      if (!KEYS.includes(k))
        problems.push({
          field: name,
          message: `has an unknown key "${k}"`,
          hint: `known: ${KEYS.join(', ')}`,
        })
    const input = spec.input === undefined ? { ok: true as const, fields: [] } : parseFieldsYaml(spec.input)
    if (!input.ok) for (const p of input.problems) problems.push({ ...p, field: `${name}.input.${p.field}` })
    if (spec.on !== undefined && spec.on !== 'record' && spec.on !== 'collection')
      problems.push({
        field: name,
        message: `on: must be record or collection, not ${JSON.stringify(spec.on)}`,
      })
    const returns = spec.returns === undefined ? undefined : parseFieldsYaml(spec.returns)
    if (returns && !returns.ok)
      for (const p of returns.problems) problems.push({ ...p, field: `${name}.returns.${p.field}` })
    else if (returns?.ok && returns.fields.length === 0)
      problems.push({
        field: name,
        message: 'returns: names no field',
        hint: 'e.g. returns: { token: string! }, or leave it out to answer the record',
      })
    // writeOnly says what a record never answers: an input or an answer has no such part
    for (const [part, r] of [
      ['input', input],
      ['returns', returns],
    ] as const)
      for (const f of r?.ok ? r.fields : [])
        if (f.writeOnly)
          problems.push({
            field: `${name}.${part}.${f.name}`,
            message: `writeOnly applies to the aggregate's fields, not to an operation's ${part}`,
            hint: 'leave writeOnly out here',
          })
    const publishes = spec.publishes ?? []
    if (!Array.isArray(publishes) || !publishes.every((p) => typeof p === 'string'))
      problems.push({ field: name, message: 'publishes must be a list of event types' })
    operations.push({
      name,
      input: input.ok ? input.fields : [],
      idempotent: spec.idempotent === true,
      on: spec.on === 'collection' ? 'collection' : 'record',
      publishes: Array.isArray(publishes) ? (publishes as string[]) : [],
      ...(returns?.ok && returns.fields.length ? { returns: returns.fields } : {}),
    })
  }
  return finish(operations, problems)
}

function finish(operations: OperationSpec[], problems: FieldProblem[]): OperationsResult {
  const seen = new Set<string>()
  for (const op of operations) {
    if (!NAME.test(op.name))
      problems.push({
        field: op.name,
        message: `"${op.name}" is not an operation name`,
        hint: 'camelCase, e.g. reserve or markShipped',
      })
    if ((CRUD_NAMES as readonly string[]).includes(op.name))
      problems.push({
        field: op.name,
        message: `"${op.name}" is a CRUD route every resource has`,
        hint: 'name what it does in the domain: reserve, refund, confirm',
      })
    if ((CRUD_MEMBERS as readonly string[]).includes(op.name))
      problems.push({
        field: op.name,
        message: `"${op.name}" is a member of the generated <Entity>Crud class`,
        hint: `choose another name than ${CRUD_MEMBERS.join(', ')}`,
      })
    if (seen.has(op.name)) problems.push({ field: op.name, message: `"${op.name}" is declared twice` })
    seen.add(op.name)
  }
  return problems.length ? { ok: false, problems } : { ok: true, operations }
}

/** The `operations:` map to write into msvc.yaml (what parseOperationsYaml reads back). */
export function toOperationsYaml(operations: OperationSpec[]): Record<string, unknown> {
  return Object.fromEntries(
    operations.map((op) => {
      const out: Record<string, unknown> = {}
      if (op.input.length) out.input = toFieldsYaml(op.input)
      if (op.idempotent) out.idempotent = true
      if (op.on === 'collection') out.on = 'collection'
      if (op.publishes.length) out.publishes = op.publishes
      if (op.returns?.length) out.returns = toFieldsYaml(op.returns)
      return [op.name, out]
    }),
  )
}
