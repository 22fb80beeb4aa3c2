import { parsePayloadType, sampleOf, tsTypeOf, zeroOf } from '../events/payload-type.js'
import { toEntityFields, type ServiceSpec, type Workspace } from '../workspace/model.js'
import { PRINT_WIDTH, toJsString, toPropertyKey } from './ts-literal.js'
import { toCamelCase, toConstantCase, toKebabCase, toPascalCase, toSingular } from '../workspace/names.js'

/**
 * The aggregate's fields a created event may copy, with their catalog types: the scalar ones
 * always on a stored record (required, defaulted) and the record's own id, version and times.
 */
function copyableFields(spec: ServiceSpec): Record<string, string> {
  const out: Record<string, string> = {
    id: 'string',
    version: 'integer',
    createdAt: 'string',
    updatedAt: 'string',
  }
  for (const f of toEntityFields(spec)) {
    if (!f.required && f.default === undefined) continue
    const k = f.type.kind
    const t = ['string', 'uuid', 'timestamp', 'enum'].includes(k)
      ? 'string'
      : ['integer', 'number', 'boolean'].includes(k)
        ? k
        : undefined
    if (t) out[f.name] = t
  }
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
      const raw = ws.events[type]!.schema[f.name]!.replace('?', '')
      if (f.name === idField) return { name: f.name, key: f.key, expr: 'item.id', todo: false }
      const own = copyable[f.name]
      if (own === raw || (own === 'integer' && raw === 'number'))
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
