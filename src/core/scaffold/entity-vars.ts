/**
 * What a service template knows of its aggregate: the fields (declared in msvc.yaml, or the
 * defaults) and the operations, turned into the pieces of source the generated files are made of:
 * TypeScript types, JSON schemas, proto messages, and the sample values the generated tests send.
 * One function per target, so that the REST schema, the gRPC messages and the types never
 * disagree: each is derived from the same FieldSpec.
 */
import type { FieldSpec, FieldType } from '../workspace/fields.js'
import { DEFAULT_FIELDS, toEntityFields, type ServiceSpec } from '../workspace/model.js'
import type { OperationSpec } from '../workspace/operations.js'
import { toCamelCase, toConstantCase, toKebabCase, toPascalCase, toSingular } from '../workspace/names.js'
import { expanded, PRINT_WIDTH, toPropertyKey, toTs } from './ts-literal.js'

/** A top-level field is always present on a stored record when it is required, has a default, or is a list. */
const isPresent = (f: FieldSpec) => f.required || f.default !== undefined || f.type.kind === 'array'

/** snake_case for proto field names (ts-proto turns them back into the camelCase name). */
export const toSnakeCase = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase()

// ---- named nested types: `items: {sku, quantity}[]` of Order is OrderItem, in TypeScript and proto ----

interface NestedType {
  name: string
  fields: FieldSpec[]
}

/** Every object type inside the fields, depth first, each named after its parent and field. */
function collectNested(owner: string, fields: readonly FieldSpec[], out: NestedType[] = []): NestedType[] {
  for (const f of fields) {
    const obj = objectOf(f.type)
    if (!obj) continue
    const name = nestedName(owner, f)
    collectNested(name, obj, out)
    out.push({ name, fields: obj })
  }
  return out
}

const objectOf = (t: FieldType): FieldSpec[] | undefined =>
  t.kind === 'object'
    ? t.fields
    : t.kind === 'array' && t.items.kind === 'object'
      ? t.items.fields
      : undefined

const nestedName = (owner: string, f: FieldSpec) =>
  owner + toPascalCase(f.type.kind === 'array' ? toSingular(f.name) : f.name)

// ---- TypeScript ----

export function tsType(owner: string, f: FieldSpec, t: FieldType = f.type): string {
  switch (t.kind) {
    case 'string':
    case 'uuid':
    case 'timestamp':
      return 'string'
    case 'integer':
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'enum':
      return t.values.map((v) => `'${v}'`).join(' | ')
    case 'object':
      return nestedName(owner, f)
    case 'array': {
      const item = tsType(owner, f, t.items)
      return t.items.kind === 'enum' && t.items.values.length > 1 ? `(${item})[]` : `${item}[]`
    }
  }
}

/** `  sku: string` lines of an interface; `optional` decides the `?` of each field. */
function tsLines(owner: string, fields: readonly FieldSpec[], optional: (f: FieldSpec) => boolean): string[] {
  return fields.map((f) => `  ${toPropertyKey(f.name)}${optional(f) ? '?' : ''}: ${tsType(owner, f)}`)
}

/** Nested objects: every field required but those neither required nor lists (lists default to []). */
const nestedOptional = (f: FieldSpec) => !f.required && f.type.kind !== 'array'

// uuid and timestamp are patterns rather than `format`s: no formats plugin to install, and the
// same check in fastify's validator and the kit's
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
/** RFC 3339: a date, T, a time, optional fraction, Z or an offset */
const TIMESTAMP_PATTERN =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

// ---- JSON schema (REST validation, the kit's checker for gRPC input, fast-json-stringify) ----

export function fieldSchema(f: FieldSpec, t: FieldType = f.type, top = true): Record<string, unknown> {
  const limits = {
    minLength: f.minLength,
    maxLength: f.maxLength,
    pattern: f.pattern,
  }
  const numeric = { minimum: f.min, maximum: f.max }
  // top-level defaults are applied by the domain's create (a PATCH must not reset them); nested
  // ones by the schema, which fills them in a new object whole
  const dflt = top ? {} : { default: f.default ?? (t.kind === 'array' && !f.required ? [] : undefined) }
  switch (t.kind) {
    case 'string':
      return { type: 'string', ...limits, ...dflt }
    case 'uuid':
      return { type: 'string', pattern: UUID_PATTERN, ...dflt }
    case 'timestamp':
      return { type: 'string', pattern: TIMESTAMP_PATTERN, ...dflt }
    case 'integer':
    case 'number':
      return { type: t.kind, ...numeric, ...dflt }
    case 'boolean':
      return { type: 'boolean', ...dflt }
    case 'enum':
      return { type: 'string', enum: t.values, ...dflt }
    case 'object':
      return objectSchema(t.fields, dflt)
    case 'array':
      return {
        type: 'array',
        items: t.items.kind === 'object' ? objectSchema(t.items.fields, {}) : fieldSchema(f, t.items, true),
        minItems: f.min,
        maxItems: f.max,
        ...dflt,
      }
  }
}

function objectSchema(fields: FieldSpec[], extra: Record<string, unknown>): Record<string, unknown> {
  const required = fields.filter((f) => f.required).map((f) => f.name)
  return expanded({
    type: 'object',
    additionalProperties: false,
    ...(required.length ? { required } : {}),
    properties: expanded(Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f, f.type, false)]))),
    ...extra,
  }) as unknown as Record<string, unknown>
}

// ---- proto ----

function protoType(owner: string, f: FieldSpec, t: FieldType = f.type): string {
  switch (t.kind) {
    case 'string':
    case 'uuid':
    case 'timestamp':
    case 'enum':
      return 'string'
    case 'integer':
      return 'int64'
    case 'number':
      return 'double'
    case 'boolean':
      return 'bool'
    case 'object':
      return nestedName(owner, f)
    case 'array':
      return protoType(owner, f, t.items)
  }
}

/**
 * `optional string description = 6;` lines. `plain` says which fields go without `optional`:
 * proto3 cannot tell their zero value from an absent one, which is what a required field wants.
 */
function protoLines(
  owner: string,
  fields: readonly FieldSpec[],
  first: number,
  plain: (f: FieldSpec) => boolean,
): string[] {
  return fields.map((f, i) => {
    const t = protoType(owner, f)
    const label =
      f.type.kind === 'array' ? 'repeated ' : f.type.kind === 'object' || plain(f) ? '' : 'optional '
    const note = protoNote(f)
    return `  ${label}${t} ${toSnakeCase(f.name)} = ${first + i};${note ? ` // ${note}` : ''}`
  })
}

/** What proto cannot say of a field: its enum values and time format, kept as a comment. */
function protoNote(f: FieldSpec): string {
  const t = f.type.kind === 'array' ? f.type.items : f.type
  if (t.kind === 'enum') return `one of: ${t.values.join(', ')}`
  if (t.kind === 'timestamp') return 'RFC 3339'
  if (t.kind === 'uuid') return 'a UUID'
  return ''
}

// ---- samples for generated tests: values that fit the schema, the n-th differing in unique fields ----

export function sampleValue(f: FieldSpec, n: number, t: FieldType = f.type): unknown {
  const examples =
    f.example === undefined ? [] : Array.isArray(f.example) && t.kind !== 'array' ? f.example : [f.example]
  if (examples.length && t === f.type) return examples[(n - 1) % examples.length]
  switch (t.kind) {
    case 'string': {
      let s = `${f.name}-${n}`
      if (f.maxLength !== undefined && s.length > f.maxLength) s = `${n}${f.name}`.slice(0, f.maxLength)
      if (f.minLength !== undefined && s.length < f.minLength) s = s.padEnd(f.minLength, 'x')
      return s
    }
    case 'uuid':
      return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
    case 'timestamp':
      return new Date(Date.UTC(2026, 0, n)).toISOString()
    case 'integer':
    case 'number': {
      const base = (f.min ?? 1) + n - 1 + (t.kind === 'number' ? 0.5 : 0)
      return f.max !== undefined && base > f.max ? f.max : base
    }
    case 'boolean':
      return n % 2 === 1
    case 'enum':
      return t.values[(n - 1) % t.values.length]
    case 'object':
      return nestedSample(t.fields, n)
    case 'array': {
      const count = Math.max(1, f.min ?? 1)
      if (f.max === 0) return []
      return Array.from({ length: count }, () => sampleValue(f, n, t.items))
    }
  }
}

/** A nested object: its required fields and its lists, as its TypeScript type wants. */
const nestedSample = (fields: FieldSpec[], n: number) =>
  Object.fromEntries(
    fields
      .filter((f) => f.required || f.type.kind === 'array')
      .map((f) => [f.name, f.required ? sampleValue(f, n) : []]),
  )

/** The n-th valid input of the fields: every field, so that a round trip carries each of them. */
export const sampleOf = (fields: readonly FieldSpec[], n: number) =>
  Object.fromEntries(fields.map((f) => [f.name, sampleValue(f, n)]))

/** A value of the wrong type for the field, for a 400 test. */
function wrongValue(f: FieldSpec): unknown {
  return ['string', 'uuid', 'timestamp', 'enum'].includes(f.type.kind) ? 42 : 'x'
}

/** A value of the right type that breaks one of the field's limits, when it has one. */
export function outOfLimits(f: FieldSpec): unknown {
  const k = f.type.kind
  if (k === 'string') {
    if (f.minLength !== undefined && f.minLength > 0) return ''.padEnd(f.minLength - 1, 'x')
    if (f.maxLength !== undefined) return ''.padEnd(f.maxLength + 1, 'x')
  }
  if (k === 'integer' || k === 'number') {
    if (f.min !== undefined) return f.min - 1
    if (f.max !== undefined) return f.max + 1
  }
  if (k === 'enum') return `not-${f.type.kind === 'enum' ? f.type.values[0] : ''}`
  return undefined
}

// ---- the whole: what the templates read ----

export function toEntityVars(spec: ServiceSpec) {
  const entityName = toSingular(spec.resource)
  const Entity = toPascalCase(entityName)
  const ENTITY = toConstantCase(entityName)
  const Resource = toPascalCase(spec.resource)
  const fields = toEntityFields(spec)
  const nested = collectNested(Entity, fields)
  // what responses carry: every field but the writeOnly ones (a password's hash)
  const answered = fields.filter((f) => !f.writeOnly)
  const writeOnly = fields.filter((f) => f.writeOnly)
  const present = answered.filter(isPresent)
  const unique = fields.filter((f) => f.unique)
  const required = fields.filter((f) => f.required)
  const scalar = (f: FieldSpec) => f.type.kind !== 'object' && f.type.kind !== 'array'
  const patchField = answered.find((f) => !f.unique && scalar(f) && sampleValue(f, 2) !== sampleValue(f, 1))
  const limited = fields.find((f) => outOfLimits(f) !== undefined)
  const sample1 = sampleOf(fields, 1)
  const defaults = Object.fromEntries(
    fields
      .filter((f) => !f.required && (f.default !== undefined || f.type.kind === 'array'))
      .map((f) => [f.name, f.default ?? []]),
  )
  const entityFields = ['id', ...fields.map((f) => f.name), 'version', 'createdAt', 'updatedAt']
  // 400 rows of the generated REST test: [what, body, field]
  const badBodies: [string, unknown, string][] = [
    [`a wrong type`, { ...sample1, [fields[0]!.name]: wrongValue(fields[0]!) }, `/${fields[0]!.name}`],
    ['an unknown field', { ...sample1, notAField: 'x' }, '/notAField'],
  ]
  if (required[0]) {
    const { [required[0].name]: _gone, ...rest } = sample1
    badBodies.push(['a missing field', rest, `/${required[0].name}`])
  }
  if (limited)
    badBodies.push([
      'a value out of its limits',
      { ...sample1, [limited.name]: outOfLimits(limited) },
      `/${limited.name}`,
    ])

  const operations = (spec.operations ?? []).map((op) => operationVars(op, Entity, Resource))
  // GET /<resource>/count: filters on the text fields (a query string holds text), sums the numbers
  // (never on a writeOnly field: its values would be probed one query at a time)
  const countFilters = answered.filter((f) => ['string', 'uuid', 'enum'].includes(f.type.kind))
  const summed = answered.filter((f) => f.type.kind === 'integer' || f.type.kind === 'number')
  const model = `${toKebabCase(entityName)}.model.js`
  const entityCamel = toCamelCase(entityName)
  const namesTs = (constant: string, list: FieldSpec[]) =>
    toTs(
      list.map((f) => f.name),
      0,
      `export const ${ENTITY}_${constant} = `.length,
      ' as const'.length,
    )
  return {
    /** whether the fields are the defaults (name, description, status) */
    defaultFields: fields === DEFAULT_FIELDS,
    nested: nested.map((n) => ({
      name: n.name,
      tsLines: tsLines(n.name, n.fields, nestedOptional),
      protoLines: protoLines(n.name, n.fields, 1, (f) => f.required),
    })),
    /** `interface <Entity>` lines (without id, version and times) */
    entityTs: tsLines(Entity, fields, (f) => !isPresent(f)),
    newTs: tsLines(Entity, fields, (f) => !f.required),
    changesTs: tsLines(Entity, fields, () => true),
    /** the FIELDS constant: each field's JSON schema */
    fieldsSchemaTs: toTs(expanded(Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])))),
    /** the fields a response carries, when some are writeOnly: their JSON schemas ('' when none is) */
    answeredSchemaTs: writeOnly.length
      ? toTs(expanded(Object.fromEntries(answered.map((f) => [f.name, fieldSchema(f)]))))
      : '',
    /** fields taken by create and update but never answered */
    writeOnly: writeOnly.map((f) => ({ name: f.name })),
    requiredTs: toTs(required.map((f) => f.name)),
    presentTs: toTs(['id', ...present.map((f) => f.name), 'version', 'createdAt', 'updatedAt'], 2, 12, 1),
    /** `{ status: 'active', tags: [] }`: what create fills in */
    defaultsTs: toTs(defaults, 0, 2 + 'return '.length, 0),
    defaultKeysTs: Object.keys(defaults).length
      ? Object.keys(defaults)
          .map((k) => `'${k}'`)
          .join(' | ')
      : 'never',
    unique: unique.map((f) => ({ name: f.name, key: toPropertyKey(f.name) })),
    /** `repeated`/`optional` proto lines of the aggregate's message, numbered after id, version and times */
    protoEntityLines: protoLines(Entity, fields, 5, isPresent),
    protoCreateLines: protoLines(Entity, fields, 1, (f) => f.required),
    protoUpdateLines: protoLines(Entity, fields, 3, () => false),
    entityFields,
    samples: {
      /** `const one = { ... } satisfies NewOrder`: the first and second valid create inputs */
      oneDecl: sampleDecl('one', sample1, `New${Entity}`),
      /** the first create input as one expression */
      oneFlat: toTs(sample1),
      /** what a response to creating `one` holds of it: `one`, or `oneAnswered` without the writeOnly fields */
      answered: writeOnly.length ? 'oneAnswered' : 'one',
      answeredDecl: writeOnly.length
        ? sampleDecl(
            'oneAnswered',
            Object.fromEntries(Object.entries(sample1).filter(([k]) => !writeOnly.some((f) => f.name === k))),
            `Partial<${Entity}>`,
          )
        : '',
      twoDecl: sampleDecl('two', sampleOf(fields, 2), `New${Entity}`),
      /** a change of one field that is not unique (`{}` when there is none) */
      patch: patchField ? toTs({ [patchField.name]: sampleValue(patchField, 2) }) : '{}',
      /** a unique field (its value in `one`), for the 409 tests; '' when none */
      uniqueField: unique[0]?.name ?? '',
      /** one field out of its limits (`{ name: '' }`), '' when no field has limits */
      invalid: limited ? toTs({ [limited.name]: outOfLimits(limited) }) : '',
      /** `const invalid = { ...two, ...<invalid> }` of the gRPC test, laid out as prettier would */
      invalidDecl: limited ? invalidDecl({ [limited.name]: outOfLimits(limited) }) : '',
      /** the 400 rows of the REST test */
      badRowsTs: badBodies.map(([what, body, field]) =>
        toTs([what, JSON.stringify(body), 'validation_failed', field], 4, 4, 1),
      ),
    },
    /** `['sku', 'status']`: the fields GET /<resource>/count filters on (equal to the value given) */
    countFiltersTs: namesTs('COUNT_FILTERS', countFilters),
    /** `['quantity']`: the fields it sums */
    summedTs: namesTs('SUMMED', summed),
    /** GET /<resource>/count's query schema's properties: each filter field's schema */
    countQueryTs: toTs(
      expanded(Object.fromEntries(countFilters.map((f) => [f.name, fieldSchema(f)]))),
      2,
      '  properties: '.length,
      1,
    ),
    summed: summed.map((f) => ({ name: f.name, key: toPropertyKey(f.name) })),
    /** a filter of the count test: the first filter field and its value in `one` ('' when none) */
    countFilter: countFilters[0]?.name ?? '',
    /** imports of the model, laid out as prettier lays them out */
    modelImportTs: {
      pg: importTs([Entity, `${Entity}Count`, `${Entity}CountFilter`], `./${model}`, true),
      crud: importTs(
        [
          `${ENTITY}_SUMMED`,
          `${ENTITY}_UNIQUE`,
          `${entityCamel}Defaults`,
          ...[Entity, `${Entity}Changes`, `${Entity}Count`, `${Entity}CountFilter`, `New${Entity}`].map(
            (t) => `type ${t}`,
          ),
        ],
        `./${model}`,
      ),
      crudTest: importTs(
        [`${ENTITY}_SUMMED`, `${entityCamel}Defaults`, `type New${Entity}`],
        `../src/domain/${model}`,
      ),
    },
    operations,
    hasOperations: operations.length > 0,
    hasCollectionOperations: operations.some((o) => !o.record),
    /** a collection operation answers the records it changed (its route's list schema) */
    collectionAnswersRecords: operations.some((o) => !o.record && !o.returns),
    /** an operation answers the record(s) it changed (the domain imports the entity's type) */
    answersRecords: operations.some((o) => !o.returns),
    /** an operation answers its own shape (its stub throws NotImplementedError) */
    hasReturns: operations.some((o) => o.returns),
    recordOperations: operations.filter((o) => o.record),
    ENTITY,
    /** `export class <Entity>Service extends ... {` as prettier breaks it when it is long */
    serviceClassOpen: classOpen(Entity, false),
    serviceClassEmpty: classOpen(Entity, true),
    /** `async create(input, events?)` of <Entity>Crud, laid out as prettier lays it out */
    createSig: signatureTs(
      2,
      'async create',
      [`input: New${Entity}`, `events?: (item: ${Entity}) => StoredEvent[]`],
      `: Promise<${Entity}> {`,
    ),
  }
}

/** `import { a, b } from 'x'` on one line when it fits, else one name a line, as prettier lays it out. */
function importTs(names: string[], from: string, typeOnly = false): string {
  const head = `import ${typeOnly ? 'type ' : ''}{`
  const line = `${head} ${names.join(', ')} } from '${from}'`
  return line.length <= PRINT_WIDTH
    ? line
    : `${head}\n${names.map((n) => `  ${n},\n`).join('')}} from '${from}'`
}

/** `const name = <value> satisfies Type`, laid out as prettier would. */
const sampleDecl = (name: string, value: unknown, type: string) =>
  `const ${name} = ${toTs(value, 0, `const ${name} = `.length, ` satisfies ${type}`.length)} satisfies ${type}`

function operationVars(op: OperationSpec, Entity: string, Resource: string) {
  const record = op.on === 'record'
  const Op = toPascalCase(op.name)
  const method = record ? `${Op}${Entity}` : `${Op}${Resource}`
  const inputType = `${method}Input`
  const owner = method
  const nestedTypes = collectNested(owner, op.input)
  // what it answers: its own shape, the record it changed, or the records
  const answer = op.returns ? `${method}Output` : record ? Entity : `${Entity}[]`
  const required = op.input.filter((f) => f.required).map((f) => f.name)
  return {
    name: op.name,
    pascal: Op,
    kebab: toKebabCase(op.name),
    record,
    idempotent: op.idempotent,
    publishes: op.publishes,
    /** the RPC's name; also the prefix of its messages and of the input type */
    method,
    methodCamel: method[0]!.toLowerCase() + method.slice(1),
    /** `const checkReserveInput = inputChecker<...>(...)`, broken as prettier breaks it */
    checkerDecl: callLine(
      `const check${Op}Input = inputChecker<${inputType}>(`,
      `${toConstantCase(method)}_SCHEMA`,
    ),
    constant: toConstantCase(method),
    inputType,
    inputTs: tsLines(owner, op.input, (f) => !f.required),
    nested: nestedTypes.map((n) => ({
      name: n.name,
      tsLines: tsLines(n.name, n.fields, nestedOptional),
      protoLines: protoLines(n.name, n.fields, 1, (f) => f.required),
    })),
    schemaTs: toTs(
      expanded({
        type: 'object',
        additionalProperties: false,
        ...(required.length ? { required } : {}),
        properties: expanded(
          Object.fromEntries(op.input.map((f) => [f.name, fieldSchema(f, f.type, false)])),
        ),
      }),
    ),
    protoRequestLines: protoLines(owner, op.input, record ? 2 : 1, (f) => f.required),
    /** the input with its required fields (and lists), as one expression */
    sampleFlat: toTs(inputSample(op)),
    /** `const reserveInput = { ... } satisfies ReserveInventoryInput`, at the top of a test file */
    sampleDecl: sampleDecl(`${op.name}Input`, inputSample(op), inputType),
    ...returnsVars(op, method),
    /** the method in <Entity>Operations, and the stub's first line in the owned domain file */
    interfaceSig: signatureTs(
      2,
      op.name,
      [...(record ? ['id: string'] : []), `input: ${inputType}`],
      `: Promise<${answer}>`,
    ),
    stubSig: signatureTs(
      2,
      `async ${op.name}`,
      [...(record ? [op.returns ? '_id: string' : 'id: string'] : []), `_input: ${inputType}`],
      `: Promise<${answer}> {`,
    ),
  }
}

/** The gRPC test's `invalid` request (indented 4): on one line when it fits, else one part a line. */
function invalidDecl(value: Record<string, unknown>): string {
  const one = `    const invalid = { ...two, ...${toTs(value)} }`
  if (one.length <= PRINT_WIDTH) return one
  return `    const invalid = {\n      ...two,\n      ...${toTs(value, 6, 9, 1)},\n    }`
}

/** A method's signature as prettier lays it out: on one line when it fits, else one parameter a line. */
function signatureTs(indent: number, head: string, params: string[], tail: string): string {
  const pad = ' '.repeat(indent)
  const one = `${pad}${head}(${params.join(', ')})${tail}`
  if (one.length <= PRINT_WIDTH) return one
  return [`${pad}${head}(`, ...params.map((p) => `${pad}  ${p},`), `${pad})${tail}`].join('\n')
}

/** An operation that answers its own shape (`returns:`): its type, nested types and response schema. */
function returnsVars(op: OperationSpec, method: string) {
  if (!op.returns) return { returns: false }
  const outputType = `${method}Output`
  const required = op.returns.filter((f) => f.required).map((f) => f.name)
  return {
    returns: true,
    outputType,
    outputConstant: `${toConstantCase(method)}_OUTPUT`,
    outputTs: tsLines(outputType, op.returns, (f) => !f.required),
    outputNested: collectNested(outputType, op.returns).map((n) => ({
      name: n.name,
      tsLines: tsLines(n.name, n.fields, nestedOptional),
    })),
    // what the route answers: serialized by it (a field it does not name is left out)
    outputSchemaTs: toTs(
      expanded({
        type: 'object',
        additionalProperties: false,
        ...(required.length ? { required } : {}),
        properties: expanded(Object.fromEntries(op.returns.map((f) => [f.name, fieldSchema(f)]))),
      }),
    ),
  }
}

/** An operation's input: its required fields, and its lists (empty). */
const inputSample = (op: OperationSpec) =>
  Object.fromEntries(
    op.input
      .filter((f) => f.required || f.type.kind === 'array')
      .map((f) => [f.name, f.required ? sampleValue(f, 1) : []]),
  )

/** The owned service class's first line(s), ending in `{` (or `{}` for an empty body). */
function classOpen(Entity: string, empty: boolean): string {
  const parts = [`export class ${Entity}Service`, `extends ${Entity}Crud`, `implements ${Entity}Operations`]
  const inline = `${parts.join(' ')} ${empty ? '{}' : '{'}`
  if (inline.length <= 110) return inline
  return `${parts[0]}\n  ${parts[1]}\n  ${parts[2]}${empty ? ' {}' : '\n{'}`
}

/** `head` + `arg` + `)` on one line when it fits, else the argument on its own line. */
const callLine = (head: string, arg: string) =>
  head.length + arg.length + 1 <= PRINT_WIDTH ? `${head}${arg})` : `${head}\n  ${arg},\n)`
