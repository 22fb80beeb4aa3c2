import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { describeType, parseFieldsFlag, parseFieldsYaml, type FieldsResult } from './fields.js'

const ok = (r: FieldsResult) => {
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.fields
}
const problems = (r: FieldsResult) => (r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`))

describe('--fields', () => {
  it("reads the issue's inventory: required, defaults, arrays", () => {
    expect(ok(parseFieldsFlag('sku:string!,quantity:integer,reserved:integer=0,tags:string[]'))).toEqual([
      { name: 'sku', type: { kind: 'string' }, required: true, unique: false },
      { name: 'quantity', type: { kind: 'integer' }, required: false, unique: false },
      { name: 'reserved', type: { kind: 'integer' }, required: false, unique: false, default: 0 },
      { name: 'tags', type: { kind: 'array', items: { kind: 'string' } }, required: false, unique: false },
    ])
  })

  it('reads enums, nested objects and arrays of objects', () => {
    const [status, items] = ok(
      parseFieldsFlag(
        'status:enum(pending|paid)=pending,items:{sku:string!,quantity:integer!,price:number!}[]!',
      ),
    )
    expect(status).toMatchObject({ type: { kind: 'enum', values: ['pending', 'paid'] }, default: 'pending' })
    expect(items!.required).toBe(true)
    expect(describeType(items!.type)).toBe('object[]')
    expect(items!.type).toMatchObject({
      kind: 'array',
      items: {
        kind: 'object',
        fields: [{ name: 'sku', required: true }, { name: 'quantity' }, { name: 'price' }],
      },
    })
  })

  it.each([
    ['sku:text', 'sku: unknown field type "text"'],
    ['id:string', 'id: "id" is reserved: every record has it'],
    ['createdAt:timestamp', 'createdAt: "createdAt" is reserved: every record has it'],
    ['sku:string,sku:integer', 'sku: "sku" is declared twice'],
    ['quantity:integer=many', 'quantity: default many is not an integer'],
    ['ok:boolean=yes', 'ok: default yes is not a boolean'],
    ['status:enum(a|b)=c', 'status: default c is not an enum(a|b)'],
    ['grid:number[][]', 'grid: an array of arrays is not supported'],
    ['sku', 'sku: "sku" has no type'],
    ['Sku:string', 'Sku: "Sku" is not a field name'],
    ['items:{sku:strin}[]', 'items.sku: unknown field type "strin"'],
  ])('refuses %s', (flag, problem) => {
    expect(problems(parseFieldsFlag(flag))).toContain(problem)
  })
})

describe('fields: in msvc.yaml', () => {
  it('gives what the flag gives, in the long form and the short one', () => {
    const yaml = parse(`
sku: { type: string, required: true }
quantity: integer
reserved: { type: integer, default: 0 }
tags: { type: array, items: string }
`)
    expect(ok(parseFieldsYaml(yaml))).toEqual(
      ok(parseFieldsFlag('sku:string!,quantity:integer,reserved:integer=0,tags:string[]')),
    )
  })

  it('keeps limits and uniqueness, and nested object arrays', () => {
    const [sku, items] = ok(
      parseFieldsYaml(
        parse(`
sku: { type: string, required: true, unique: true, maxLength: 64, pattern: '^[A-Z0-9-]+$' }
items:
  type: array
  required: true
  min: 1
  items: { type: object, fields: { sku: string!, quantity: { type: integer, required: true, min: 1 } } }
`),
      ),
    )
    expect(sku).toMatchObject({ unique: true, maxLength: 64, pattern: '^[A-Z0-9-]+$' })
    expect(items).toMatchObject({
      required: true,
      min: 1,
      type: { kind: 'array', items: { kind: 'object' } },
    })
  })

  it.each([
    ['sku: { type: text }', 'sku: unknown field type "text"'],
    ['version: integer', 'version: "version" is reserved: every record has it'],
    ['n: { type: integer, default: 1.5 }', 'n: default 1.5 is not an integer'],
    ['xs: { type: array, items: { type: array, items: string } }', 'xs: an array of arrays is not supported'],
    ['xs: { type: array }', 'xs: an array needs items: the type of its elements'],
    ['s: { type: enum }', 's: an enum needs values: a list of strings'],
    ['s: { type: string, size: 3 }', 's: has an unknown key "size"'],
    ['s: { type: string, pattern: "(" }', 's: pattern "(" is not a regular expression'],
  ])('refuses %s', (text, problem) => {
    expect(problems(parseFieldsYaml(parse(text)))).toContain(problem)
  })
})
