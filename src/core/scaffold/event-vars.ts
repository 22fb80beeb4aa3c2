import type { ServiceSpec, Workspace } from '../workspace/model.js'
import { toCamelCase, toConstantCase, toKebabCase, toPascalCase, toSingular } from '../workspace/names.js'

const TS_TYPES: Record<string, string> = {
  string: 'string',
  number: 'number',
  integer: 'number',
  boolean: 'boolean',
}
const SAMPLES: Record<string, string> = { string: "'x'", number: '1.5', integer: '1', boolean: 'true' }
/** entity fields of the generated aggregate a created event may copy, with their catalog types */
const ENTITY_FIELDS: Record<string, string> = {
  id: 'string',
  name: 'string',
  description: 'string',
  status: 'string',
  version: 'integer',
  createdAt: 'string',
  updatedAt: 'string',
}

export interface EventFieldVars {
  name: string
  /** the name as a TypeScript property key (quoted when it is not an identifier) */
  key: string
  /** the TypeScript type of the field */
  tsType: string
  optional: boolean
  /** a literal that satisfies the schema, for generated tests */
  sample: string
}

/** What a service template knows of one event type of the catalog. */
export function toEventVars(ws: Workspace, type: string) {
  const schema = ws.events[type]?.schema ?? {}
  const fields: EventFieldVars[] = Object.entries(schema).map(([name, raw]) => {
    const optional = raw.endsWith('?')
    const base = optional ? raw.slice(0, -1) : raw
    return {
      name,
      key: toPropertyKey(name),
      tsType: TS_TYPES[base] ?? 'unknown',
      optional,
      sample: SAMPLES[base] ?? 'null',
    }
  })
  return {
    type,
    pascal: toPascalCase(type),
    camel: toCamelCase(type),
    constant: toConstantCase(type),
    description: ws.events[type]?.description ?? '',
    /** the schema as a TypeScript object literal, formatted as prettier writes it */
    schemaTs: Object.keys(schema).length
      ? `{ ${Object.entries(schema)
          .map(([k, v]) => `${toPropertyKey(k)}: ${toJsString(v)}`)
          .join(', ')} }`
      : '{}',
    fields,
    /** required fields only, for the smallest valid sample */
    requiredFields: fields.filter((f) => !f.optional),
  }
}

/**
 * The `<entity>.created` event the REST create route publishes, when the service publishes it:
 * each field is copied from the created entity when it has one of that name and type (`id`, or
 * `<entity>Id` for the id), else the template writes a zero value with a TODO for the owner.
 */
export function toCreatedEventVars(ws: Workspace, spec: ServiceSpec) {
  const entity = toSingular(spec.resource)
  const type = `${toKebabCase(entity)}.created`
  if (!spec.capabilities.includes('http') || !spec.publishes.includes(type)) return false
  const idField = `${toCamelCase(entity)}Id`
  const ev = toEventVars(ws, type)
  const zero: Record<string, string> = { string: "''", number: '0', boolean: 'false' }
  const mapped = ev.fields
    .map((f) => {
      const raw = ws.events[type]!.schema[f.name]!.replace('?', '')
      if (f.name === idField) return { name: f.name, key: f.key, expr: 'item.id', todo: false }
      const own = ENTITY_FIELDS[f.name]
      if (own === raw || (own === 'integer' && raw === 'number'))
        return { name: f.name, key: f.key, expr: `item.${f.name}`, todo: false }
      if (f.optional) return undefined
      return { name: f.name, key: f.key, expr: zero[f.tsType] ?? 'null', todo: true }
    })
    .filter((f) => f !== undefined)
  return { ...ev, mapped }
}

/** Every catalog event a service publishes or subscribes to, once, in catalog order. */
export function toServiceEvents(ws: Workspace, spec: ServiceSpec) {
  const used = new Set([...spec.publishes, ...spec.subscribes])
  return Object.keys(ws.events)
    .filter((t) => used.has(t))
    .map((t) => toEventVars(ws, t))
}

export const toPropertyKey = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : toJsString(name))

/** `s` as a single-quoted TypeScript string literal, the quotes the workspace's prettier wants. */
export function toJsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`
}
