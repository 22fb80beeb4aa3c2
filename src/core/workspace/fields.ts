/**
 * An entity's fields (issue #15): their types, limits and defaults, read from the `--fields` flag
 * (`sku:string!,quantity:integer,reserved:integer=0,tags:string[]`) or from msvc.yaml
 * (`fields: { sku: { type: string, required: true } }`, or the short `sku: string!`). Both give the
 * same `FieldSpec`s, or problems worded for no source in particular: each source names the place.
 */

export const SCALAR_TYPES = ['string', 'integer', 'number', 'boolean', 'timestamp', 'uuid'] as const
export type ScalarType = (typeof SCALAR_TYPES)[number]
export const FIELD_TYPES = [...SCALAR_TYPES, 'enum', 'object', 'array'] as const
export type FieldTypeName = (typeof FIELD_TYPES)[number]

/** Columns every record has (`seq` orders a page in PostgreSQL): no field may take their names. */
export const RESERVED_FIELDS = ['id', 'version', 'createdAt', 'updatedAt', 'seq'] as const

/** A value's type: a scalar, an enum, an object of fields, or an array of one of those (not of arrays). */
export type FieldType =
  | { kind: ScalarType }
  | { kind: 'enum'; values: string[] }
  | { kind: 'object'; fields: FieldSpec[] }
  | { kind: 'array'; items: Exclude<FieldType, { kind: 'array' }> }

export interface FieldLimits {
  /** integer/number: the smallest and largest value; array: the fewest and most items */
  min?: number
  max?: number
  /** string: the shortest and the longest */
  minLength?: number
  maxLength?: number
  /** string: a regular expression the whole value matches */
  pattern?: string
}

export interface FieldSpec extends FieldLimits {
  name: string
  type: FieldType
  required: boolean
  unique: boolean
  /**
   * taken by create and update, never answered: left out of the responses' schema, of the list's
   * and count's filters and of the created event (a password's hash); top-level fields only
   */
  writeOnly?: boolean
  default?: unknown
  /**
   * a value that fits, or a list of them: what generated tests send (required with a pattern,
   * which no sample can guess; two for a unique one)
   */
  example?: unknown
}

export interface FieldProblem {
  /** the field's path (`items[].sku`), or '' for the list as a whole */
  field: string
  message: string
  hint?: string
}

export type FieldsResult = { ok: true; fields: FieldSpec[] } | { ok: false; problems: FieldProblem[] }

const NAME = /^[a-z][A-Za-z0-9]*$/

// ---- the flag: name:type[!][=default], comma-separated; enum(a|b), {nested}, [] for arrays ----

/** Splits on `sep` outside (), {} and quotes; trims, drops empty parts. */
export function splitTop(text: string, sep: string): string[] {
  const out: string[] = []
  let depth = 0
  let quote = ''
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quote) {
      if (ch === quote) quote = ''
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === '(' || ch === '{') depth++
    else if (ch === ')' || ch === '}') depth--
    else if (ch === sep && depth === 0) {
      out.push(text.slice(start, i))
      start = i + 1
    }
  }
  out.push(text.slice(start))
  return out.map((s) => s.trim()).filter((s) => s !== '')
}

/** `sku:string!,quantity:integer=0,tags:string[],items:{sku:string!,qty:integer!}[]!` */
export function parseFieldsFlag(text: string): FieldsResult {
  const problems: FieldProblem[] = []
  const fields = parseFlagList(text, '', problems)
  return finish(fields, problems)
}

function parseFlagList(text: string, prefix: string, problems: FieldProblem[]): FieldSpec[] {
  const out: FieldSpec[] = []
  for (const part of splitTop(text, ',')) {
    const f = parseFlagField(part, prefix, problems)
    if (f) out.push(f)
  }
  return out
}

function parseFlagField(part: string, prefix: string, problems: FieldProblem[]): FieldSpec | undefined {
  const colon = part.indexOf(':')
  const name = (colon < 0 ? part : part.slice(0, colon)).trim()
  const at = prefix + name
  if (colon < 0) {
    problems.push({ field: at, message: `"${part}" has no type`, hint: 'write name:type, e.g. sku:string!' })
    return undefined
  }
  let rest = part.slice(colon + 1).trim()
  let defaultText: string | undefined
  const eq = topLevelIndex(rest, '=')
  if (eq >= 0) {
    defaultText = rest.slice(eq + 1).trim()
    rest = rest.slice(0, eq).trim()
  }
  const required = rest.endsWith('!')
  if (required) rest = rest.slice(0, -1).trim()
  let arrays = 0
  while (rest.endsWith('[]')) {
    arrays++
    rest = rest.slice(0, -2).trim()
  }
  const base = parseFlagType(rest, at, problems)
  if (!base) return undefined
  if (arrays > 1) {
    problems.push(arrayOfArrays(at))
    return undefined
  }
  const type: FieldType =
    arrays === 1 ? { kind: 'array', items: base as Exclude<FieldType, { kind: 'array' }> } : base
  const spec: FieldSpec = { name, type, required, unique: false }
  if (defaultText !== undefined) {
    const value = readDefaultText(defaultText, type)
    if (value === undefined) problems.push(badDefault(at, defaultText, type))
    else spec.default = value
  }
  return spec
}

function topLevelIndex(text: string, ch: string): number {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '(' || c === '{') depth++
    else if (c === ')' || c === '}') depth--
    else if (c === ch && depth === 0) return i
  }
  return -1
}

function parseFlagType(text: string, at: string, problems: FieldProblem[]): FieldType | undefined {
  if ((SCALAR_TYPES as readonly string[]).includes(text)) return { kind: text as ScalarType }
  const en = /^enum\((.*)\)$/.exec(text)
  if (en) return { kind: 'enum', values: en[1]!.split('|').map((v) => v.trim()) }
  const obj = /^\{(.*)\}$/s.exec(text)
  if (obj) return { kind: 'object', fields: parseFlagList(obj[1]!, `${at}.`, problems) }
  problems.push(unknownType(at, text))
  return undefined
}

function readDefaultText(text: string, type: FieldType): unknown {
  const unquoted = /^(["'])(.*)\1$/.exec(text)?.[2]
  switch (type.kind) {
    case 'string':
    case 'uuid':
    case 'timestamp':
      return checkDefault(unquoted ?? text, type)
    case 'enum':
      return checkDefault(unquoted ?? text, type)
    case 'integer':
    case 'number':
      return text.trim() === '' ? undefined : checkDefault(Number(text), type)
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined
    case 'array':
      return text === '[]' ? [] : undefined
    default:
      return undefined
  }
}

// ---- msvc.yaml: fields: { name: { type, required, unique, default, min, max, maxLength, pattern, values, fields, items } } ----

const KEYS = [
  'type',
  'required',
  'unique',
  'default',
  'min',
  'max',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'writeOnly',
  'values',
  'fields',
  'items',
]

/** `fields:` of msvc.yaml: a map from name to a spec object or the short string form (`string!`). */
export function parseFieldsYaml(value: unknown): FieldsResult {
  const problems: FieldProblem[] = []
  const fields = readYamlFields(value, '', problems)
  return finish(fields, problems)
}

function readYamlFields(value: unknown, prefix: string, problems: FieldProblem[]): FieldSpec[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({
      field: prefix.replace(/\.$/, ''),
      message: 'fields must be a map of name to type',
      hint: 'e.g. fields: { sku: string! }',
    })
    return []
  }
  const out: FieldSpec[] = []
  for (const [name, spec] of Object.entries(value as Record<string, unknown>)) {
    const f = readYamlField(name, spec, prefix + name, problems)
    if (f) out.push(f)
  }
  return out
}

function readYamlField(
  name: string,
  spec: unknown,
  at: string,
  problems: FieldProblem[],
): FieldSpec | undefined {
  if (typeof spec === 'string')
    return parseFlagField(`${name}:${spec}`, at.slice(0, at.length - name.length), problems)
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    problems.push({
      field: at,
      message: 'is neither a type nor a { type: ... } map',
      hint: 'e.g. sku: string! or sku: { type: string, required: true }',
    })
    return undefined
  }
  const s = spec as Record<string, unknown>
  for (const k of Object.keys(s))
    if (!KEYS.includes(k))
      problems.push({ field: at, message: `has an unknown key "${k}"`, hint: `known: ${KEYS.join(', ')}` })
  const type = readYamlType(s, at, problems)
  if (!type) return undefined
  const f: FieldSpec = { name, type, required: s.required === true, unique: s.unique === true }
  if (s.writeOnly !== undefined) {
    if (typeof s.writeOnly !== 'boolean')
      problems.push({ field: at, message: 'writeOnly must be true or false' })
    else if (s.writeOnly && at.includes('.'))
      problems.push({
        field: at,
        message: 'only a top-level field can be writeOnly',
        hint: 'the whole object is answered or not: mark the top-level field writeOnly',
      })
    else if (s.writeOnly) f.writeOnly = true
  }
  for (const k of ['min', 'max', 'minLength', 'maxLength'] as const)
    if (s[k] !== undefined) {
      if (typeof s[k] !== 'number') problems.push({ field: at, message: `${k} must be a number` })
      else f[k] = s[k]
    }
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== 'string' || !validRegExp(s.pattern))
      problems.push({
        field: at,
        message: `pattern ${JSON.stringify(s.pattern)} is not a regular expression`,
      })
    else f.pattern = s.pattern
  }
  if (s.default !== undefined) {
    const value = checkDefault(s.default, type)
    if (value === undefined) problems.push(badDefault(at, JSON.stringify(s.default), type))
    else f.default = value
  }
  if (s.example !== undefined) {
    // one value, or (for a field that is not a list) several: a unique field's tests need two
    const list = Array.isArray(s.example) && type.kind !== 'array' ? (s.example as unknown[]) : [s.example]
    const bad = list.find((v) => checkDefault(v, type) === undefined || !fitsLimits(v, f))
    if (bad !== undefined || list.length === 0)
      problems.push({ field: at, message: `example ${JSON.stringify(bad)} does not fit the field` })
    else f.example = s.example
  }
  if (f.pattern !== undefined && type.kind === 'string') {
    const have = f.example === undefined ? 0 : Array.isArray(f.example) ? new Set(f.example).size : 1
    const need = f.unique ? 2 : f.default === undefined ? 1 : 0
    if (have < need)
      problems.push({
        field: at,
        message: `a ${f.unique ? 'unique ' : ''}field with a pattern needs ${need === 2 ? 'two examples' : 'an example'}`,
        hint: `add example: ${need === 2 ? '[a, b], values' : 'a value'} that match ${f.pattern}; generated tests send them`,
      })
  }
  if (f.unique && !['string', 'integer', 'number', 'uuid', 'timestamp'].includes(type.kind))
    problems.push({
      field: at,
      message: `a ${describeType(type)} field cannot be unique`,
      hint: 'unique applies to string, integer, number, uuid and timestamp fields',
    })
  if (f.default !== undefined && !fitsLimits(f.default, f))
    problems.push({ field: at, message: `default ${JSON.stringify(f.default)} breaks the field's limits` })
  return f
}

/** Whether a value of the right type also keeps the field's limits. */
export function fitsLimits(value: unknown, f: FieldLimits): boolean {
  if (typeof value === 'string') {
    if (f.minLength !== undefined && value.length < f.minLength) return false
    if (f.maxLength !== undefined && value.length > f.maxLength) return false
    if (f.pattern !== undefined && !new RegExp(f.pattern, 'u').test(value)) return false
  }
  const size = typeof value === 'number' ? value : Array.isArray(value) ? value.length : undefined
  if (size !== undefined) {
    if (f.min !== undefined && size < f.min) return false
    if (f.max !== undefined && size > f.max) return false
  }
  return true
}

function readYamlType(
  s: Record<string, unknown>,
  at: string,
  problems: FieldProblem[],
): FieldType | undefined {
  const t = s.type
  if (t === 'enum') {
    const values = s.values
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
      problems.push({
        field: at,
        message: 'an enum needs values: a list of strings',
        hint: 'e.g. { type: enum, values: [pending, paid] }',
      })
      return undefined
    }
    return { kind: 'enum', values: values as string[] }
  }
  if (t === 'object') return { kind: 'object', fields: readYamlFields(s.fields, `${at}.`, problems) }
  if (t === 'array') {
    const items = s.items
    const item =
      typeof items === 'string'
        ? readYamlType({ type: items }, `${at}[]`, problems)
        : typeof items === 'object' && items !== null
          ? readYamlType(items as Record<string, unknown>, `${at}[]`, problems)
          : undefined
    if (items === undefined)
      problems.push({
        field: at,
        message: 'an array needs items: the type of its elements',
        hint: 'e.g. { type: array, items: string }',
      })
    if (!item) return undefined
    if (item.kind === 'array') {
      problems.push(arrayOfArrays(at))
      return undefined
    }
    return { kind: 'array', items: item }
  }
  if (typeof t === 'string' && (SCALAR_TYPES as readonly string[]).includes(t))
    return { kind: t as ScalarType }
  problems.push(unknownType(at, String(t)))
  return undefined
}

const validRegExp = (p: string) => {
  try {
    new RegExp(p, 'u')
    return true
  } catch {
    return false
  }
}

// ---- checks common to both sources ----

/** A default that fits its type, as the value to store; undefined when it does not fit. */
export function checkDefault(value: unknown, type: FieldType): unknown {
  switch (type.kind) {
    case 'string':
      return typeof value === 'string' ? value : undefined
    case 'uuid':
      return typeof value === 'string' &&
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
        ? value
        : undefined
    case 'timestamp':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : undefined
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : undefined
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined
    case 'enum':
      return typeof value === 'string' && type.values.includes(value) ? value : undefined
    case 'array':
      return Array.isArray(value) && value.every((v) => checkDefault(v, type.items) !== undefined)
        ? value
        : undefined
    case 'object':
      return undefined
  }
}

function finish(fields: FieldSpec[], problems: FieldProblem[]): FieldsResult {
  checkNames(fields, '', problems)
  return problems.length ? { ok: false, problems } : { ok: true, fields }
}

function checkNames(fields: FieldSpec[], prefix: string, problems: FieldProblem[]): void {
  const seen = new Set<string>()
  for (const f of fields) {
    const at = prefix + f.name
    if (!NAME.test(f.name))
      problems.push({
        field: at,
        message: `"${f.name}" is not a field name`,
        hint: 'camelCase: a lowercase letter, then letters and digits',
      })
    if (prefix === '' && (RESERVED_FIELDS as readonly string[]).includes(f.name))
      problems.push({
        field: at,
        message: `"${f.name}" is reserved: every record has it`,
        hint: `choose another name than ${RESERVED_FIELDS.join(', ')}`,
      })
    if (seen.has(f.name)) problems.push({ field: at, message: `"${f.name}" is declared twice` })
    seen.add(f.name)
    if (f.type.kind === 'enum')
      for (const v of f.type.values)
        if (!/^[A-Za-z0-9_-]+$/.test(v))
          problems.push({ field: at, message: `enum value "${v}" is not a word` })
    const nested =
      f.type.kind === 'object'
        ? f.type.fields
        : f.type.kind === 'array' && f.type.items.kind === 'object'
          ? f.type.items.fields
          : undefined
    if (nested) checkNames(nested, `${at}${f.type.kind === 'array' ? '[]' : ''}.`, problems)
  }
}

const unknownType = (at: string, t: string): FieldProblem => ({
  field: at,
  message: `unknown field type "${t}"`,
  hint: `choose from ${FIELD_TYPES.join(', ')} (enum(a|b), {nested fields}, type[] for arrays)`,
})

const arrayOfArrays = (at: string): FieldProblem => ({
  field: at,
  message: 'an array of arrays is not supported',
  hint: 'make the inner array a field of an object: {values:number[]}[]',
})

const badDefault = (at: string, text: string, type: FieldType): FieldProblem => ({
  field: at,
  message: `default ${text} is not ${/^[aeiou]/.test(describeType(type)) ? 'an' : 'a'} ${describeType(type)}`,
})

/** `integer`, `enum(pending|paid)`, `object`, `string[]`. */
export function describeType(t: FieldType): string {
  if (t.kind === 'enum') return `enum(${t.values.join('|')})`
  if (t.kind === 'array') return `${describeType(t.items)}[]`
  return t.kind
}

// ---- back to msvc.yaml: the short form where it says everything, else the map ----

/** The `fields:` map to write into msvc.yaml for these fields (what parseFieldsYaml reads back). */
export function toFieldsYaml(fields: FieldSpec[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f.name, toFieldYaml(f)]))
}

function toFieldYaml(f: FieldSpec): unknown {
  if (isShort(f)) return shortForm(f)
  const out: Record<string, unknown> = { ...toTypeYaml(f.type) }
  if (f.required) out.required = true
  if (f.unique) out.unique = true
  if (f.default !== undefined) out.default = f.default
  for (const k of ['min', 'max', 'minLength', 'maxLength', 'pattern', 'example'] as const)
    if (f[k] !== undefined) out[k] = f[k]
  return out
}

function toTypeYaml(t: FieldType): Record<string, unknown> {
  if (t.kind === 'enum') return { type: 'enum', values: t.values }
  if (t.kind === 'object') return { type: 'object', fields: toFieldsYaml(t.fields) }
  if (t.kind === 'array') {
    const items = toTypeYaml(t.items)
    return { type: 'array', items: Object.keys(items).length === 1 ? items.type : items }
  }
  return { type: t.kind }
}

/** Only a type, `!` and a default that reads back the same: the flag's grammar says it all. */
function isShort(f: FieldSpec): boolean {
  const limits = ['min', 'max', 'minLength', 'maxLength', 'pattern', 'example'] as const
  if (f.unique || limits.some((k) => f[k] !== undefined)) return false
  const nested =
    f.type.kind === 'object'
      ? f.type.fields
      : f.type.kind === 'array' && f.type.items.kind === 'object'
        ? f.type.items.fields
        : []
  if (!nested.every(isShort)) return false
  if (f.default === undefined) return true
  if (typeof f.default === 'string') return /^[\w.:@/+-]*$/.test(f.default) && f.default !== ''
  return typeof f.default !== 'object' || (Array.isArray(f.default) && f.default.length === 0)
}

/** `string!`, `integer=0`, `enum(pending|paid)=pending`, `{sku:string!,quantity:integer!}[]!`. */
export function shortForm(f: FieldSpec): string {
  const def = f.default === undefined ? '' : `=${Array.isArray(f.default) ? '[]' : String(f.default)}`
  return `${typeText(f.type)}${f.required ? '!' : ''}${def}`
}

function typeText(t: FieldType): string {
  if (t.kind === 'enum') return `enum(${t.values.join('|')})`
  if (t.kind === 'object') return `{${t.fields.map((f) => `${f.name}:${shortForm(f)}`).join(',')}}`
  if (t.kind === 'array') return `${typeText(t.items)}[]`
  return t.kind
}
