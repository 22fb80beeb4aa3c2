/**
 * The type of an event payload's field, as msvc.yaml's catalog writes it: a scalar (`string`,
 * `number`, `integer`, `boolean`), an object of fields (`{sku:string,quantity:integer}`), or an
 * array of either (`string[]`, `{sku:string,quantity:integer}[]`); a trailing `?` makes the field
 * optional, inside objects too. The kit validates payloads with the same grammar
 * (packages/kit/src/events/envelope.ts); here it is checked, and turned into TypeScript.
 */
import { splitTop } from '../workspace/fields.js'

export const PAYLOAD_SCALARS = ['string', 'number', 'integer', 'boolean'] as const
type Scalar = (typeof PAYLOAD_SCALARS)[number]

export type PayloadType =
  | { kind: 'scalar'; name: Scalar }
  | { kind: 'array'; of: PayloadType }
  | { kind: 'object'; fields: PayloadField[] }

export interface PayloadField {
  name: string
  type: PayloadType
  optional: boolean
}

export type ParsedPayloadType =
  { ok: true; type: PayloadType; optional: boolean } | { ok: false; message: string }

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `'{sku:string,quantity:integer}[]?'` -> its type and whether it is optional. */
export function parsePayloadType(text: string): ParsedPayloadType {
  const t = text.trim()
  const optional = t.endsWith('?')
  try {
    return { ok: true, type: parseType(optional ? t.slice(0, -1).trim() : t), optional }
  } catch (e) {
    return { ok: false, message: (e as Error).message }
  }
}

function parseType(text: string): PayloadType {
  if (text.endsWith('[]')) {
    const of = parseType(text.slice(0, -2).trim())
    if (of.kind === 'array')
      throw new Error(`"${text}": an array of arrays is not supported; wrap the inner one in an object`)
    return { kind: 'array', of }
  }
  if ((PAYLOAD_SCALARS as readonly string[]).includes(text)) return { kind: 'scalar', name: text as Scalar }
  if (text.startsWith('{') && text.endsWith('}')) {
    const fields: PayloadField[] = []
    for (const part of splitTop(text.slice(1, -1), ',')) {
      const colon = part.indexOf(':')
      if (colon < 0) throw new Error(`"${part}" has no type (write name:type)`)
      const name = part.slice(0, colon).trim()
      if (!FIELD_NAME.test(name)) throw new Error(`"${name}" is not a field name`)
      if (fields.some((f) => f.name === name)) throw new Error(`"${name}" is declared twice`)
      let t = part.slice(colon + 1).trim()
      const optional = t.endsWith('?')
      if (optional) t = t.slice(0, -1).trim()
      fields.push({ name, type: parseType(t), optional })
    }
    if (fields.length === 0) throw new Error('an object needs at least one field')
    return { kind: 'object', fields }
  }
  throw new Error(
    `"${text}" is not a type: use string, number, integer, boolean, {field:type,...}, or any of them with []`,
  )
}

const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`)

/** The TypeScript type: `string`, `number`, `{ sku: string; quantity?: number }[]`. */
export function tsTypeOf(t: PayloadType): string {
  if (t.kind === 'scalar') return t.name === 'integer' ? 'number' : t.name
  if (t.kind === 'array') return `${tsTypeOf(t.of)}[]`
  return `{ ${t.fields.map((f) => `${key(f.name)}${f.optional ? '?' : ''}: ${tsTypeOf(f.type)}`).join('; ')} }`
}

/** A TypeScript literal that satisfies the type (required fields only), for generated tests. */
export function sampleOf(t: PayloadType): string {
  if (t.kind === 'scalar') return { string: "'x'", number: '1.5', integer: '1', boolean: 'true' }[t.name]
  if (t.kind === 'array') return `[${sampleOf(t.of)}]`
  return objectLiteral(t.fields.filter((f) => !f.optional).map((f) => `${key(f.name)}: ${sampleOf(f.type)}`))
}

/** The zero value of the type (a placeholder for the owner to fill in): '', 0, false, [], { ... }. */
export function zeroOf(t: PayloadType): string {
  if (t.kind === 'scalar') return { string: "''", number: '0', integer: '0', boolean: 'false' }[t.name]
  if (t.kind === 'array') return '[]'
  return objectLiteral(t.fields.filter((f) => !f.optional).map((f) => `${key(f.name)}: ${zeroOf(f.type)}`))
}

/** `{ a: 1, b: 'x' }`, or `{}` with no properties, as prettier writes them. */
const objectLiteral = (props: string[]) => (props.length ? `{ ${props.join(', ')} }` : '{}')
