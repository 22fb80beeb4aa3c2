import { parsePayloadType, sampleOf, tsTypeOf, zeroOf, type PayloadType } from '../events/payload-type.js'
import type { FieldType } from '../workspace/fields.js'
import { toEntityFields, type ServiceSpec, type Workspace } from '../workspace/model.js'
import { PRINT_WIDTH, toJsString, toPropertyKey } from './ts-literal.js'
import { toCamelCase, toConstantCase, toKebabCase, toPascalCase, toSingular } from '../workspace/names.js'

/** A field's type in the event catalog's grammar (`{sku:string,quantity:integer?}[]`). */
function payloadTypeOf(t: FieldType, required = true): PayloadType {
  switch (t.kind) {
    case 'integer':
    case 'number':
    case 'boolean':
      return { kind: 'scalar', name: t.kind }
    case 'object':
      return {
        kind: 'object',
        fields: t.fields.map((f) => ({
          name: f.name,
          type: payloadTypeOf(f.type, f.required),
          optional: !f.required && f.type.kind !== 'array',
        })),
      }
    case 'array':
      return { kind: 'array', of: payloadTypeOf(t.items, required) }
    default:
      return { kind: 'scalar', name: 'string' }
  }
}

/** Whether a value of type `from` always fits `to` (an integer fits a number; a present field an optional one). */
function fits(from: PayloadType, to: PayloadType): boolean {
  if (from.kind === 'scalar' && to.kind === 'scalar')
    return from.name === to.name || (from.name === 'integer' && to.name === 'number')
  if (from.kind === 'array' && to.kind === 'array') return fits(from.of, to.of)
  if (from.kind === 'object' && to.kind === 'object')
    return (
      from.fields.length === to.fields.length &&
      to.fields.every((t) => {
        const f = from.fields.find((x) => x.name === t.name)
        return !!f && (t.optional || !f.optional) && fits(f.type, t.type)
      })
    )
  return false
}

/**
 * The aggregate's fields a created event may copy, with their types in the catalog's grammar: the
 * ones always on a stored record (required, defaulted, lists) and the record's own id, version
 * and times.
 */
function copyableFields(spec: ServiceSpec): Record<string, PayloadType> {
  const str: PayloadType = { kind: 'scalar', name: 'string' }
  const out: Record<string, PayloadType> = {
    id: str,
    version: { kind: 'scalar', name: 'integer' },
    createdAt: str,
    updatedAt: str,
  }
  for (const f of toEntityFields(spec))
    if (!f.writeOnly && (f.required || f.default !== undefined || f.type.kind === 'array'))
      out[f.name] = payloadTypeOf(f.type)
  return out
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
  /** its zero value, a placeholder for the owner ('', 0, false, [], { ... }) */
  zero: string
}

/** What a service template knows of one event type of the catalog. */
export function toEventVars(ws: Workspace, type: string) {
  const schema = ws.events[type]?.schema ?? {}
  const fields: EventFieldVars[] = Object.entries(schema).map(([name, raw]) => {
    const parsed = parsePayloadType(raw)
    // msvc.yaml's checks refused a bad type before templates render
    if (!parsed.ok) throw new Error(`event ${type}, field ${name}: ${parsed.message}`)
    return {
      name,
      key: toPropertyKey(name),
      tsType: tsTypeOf(parsed.type),
      optional: parsed.optional,
      sample: sampleOf(parsed.type),
      zero: zeroOf(parsed.type),
    }
  })
  return {
    type,
    pascal: toPascalCase(type),
    camel: toCamelCase(type),
    constant: toConstantCase(type),
    description: ws.events[type]?.description ?? '',
    /** the schema as a TypeScript object literal, formatted as prettier writes it */
    schemaTs: propertyLine(
      type,
      Object.entries(schema).map(([k, v]) => `${toPropertyKey(k)}: ${toJsString(v)}`),
    ),
    /** a payload with the required fields (generated tests), formatted as prettier writes it */
    sampleTs: propertyLine(
      type,
      fields.filter((f) => !f.optional).map((f) => `${f.key}: ${f.sample}`),
    ),
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
  const copyable = copyableFields(spec)
  const mapped = ev.fields
    .map((f) => {
      const declared = parsePayloadType(ws.events[type]!.schema[f.name]!)
      if (f.name === idField) return { name: f.name, key: f.key, expr: 'item.id', todo: false }
      const own = copyable[f.name]
      if (own && declared.ok && fits(own, declared.type))
        return { name: f.name, key: f.key, expr: `item.${f.name}`, todo: false }
      if (f.optional) return undefined
      return { name: f.name, key: f.key, expr: f.zero, todo: true }
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

export { toJsString, toPropertyKey }

/**
 * An object literal that is the value of `'<type>': ...,` at the top level of an object (indented
 * by 2): on one line when that line fits the print width, else one property a line, as prettier
 * would write it.
 */
function propertyLine(type: string, props: string[]): string {
  if (props.length === 0) return '{}'
  const inline = `{ ${props.join(', ')} }`
  if (2 + toJsString(type).length + 2 + inline.length + 1 <= PRINT_WIDTH) return inline
  return `{\n${props.map((p) => `    ${p},\n`).join('')}  }`
}
