import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { describeType, parseFieldsFlag, parseFieldsYaml, toFieldsYaml, type FieldsResult } from './fields.js'

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
    ['seq:integer', 'seq: "seq" is reserved: every record has it'],
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

  it('reads writeOnly: top-level fields only, true or false', () => {
    const [hash, email] = ok(
      parseFieldsYaml(
        parse(
          '{ passwordHash: { type: string, writeOnly: true }, email: { type: string, writeOnly: false } }',
        ),
      ),
    )
    expect(hash).toEqual({
      name: 'passwordHash',
      type: { kind: 'string' },
      required: false,
      unique: false,
      writeOnly: true,
    })
    expect(email).not.toHaveProperty('writeOnly')
    expect(
      problems(
        parseFieldsYaml(parse('{ a: { type: object, fields: { b: { type: string, writeOnly: true } } } }')),
      ),
    ).toEqual(['a.b: only a top-level field can be writeOnly'])
    expect(problems(parseFieldsYaml(parse('{ a: { type: string, writeOnly: yes } }')))).toEqual([
      'a: writeOnly must be true or false',
    ])
  })

  it('keeps limits and uniqueness, and nested object arrays', () => {
    const [sku, items] = ok(
      parseFieldsYaml(
        parse(`
sku: { type: string, required: true, unique: true, maxLength: 64, pattern: '^[A-Z0-9-]+$', example: [A-1, B-2] }
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
    ["sku: { type: string, pattern: '^[A-Z]+$' }", 'sku: a field with a pattern needs an example'],
    [
      "sku: { type: string, unique: true, pattern: '^[A-Z]+$', example: AB }",
      'sku: a unique field with a pattern needs two examples',
    ],
    ["sku: { type: string, pattern: '^[A-Z]+$', example: ab }", 'sku: example "ab" does not fit the field'],
    ['sku: { type: string, minLength: 3, default: ab }', 'sku: default "ab" breaks the field\'s limits'],
    ['tags: { type: array, items: string, unique: true }', 'tags: a string[] field cannot be unique'],
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

describe('fields back to msvc.yaml', () => {
  it.each([
    'sku:string!,quantity:integer,reserved:integer=0,tags:string[]',
    'status:enum(pending|paid)=pending,items:{sku:string!,quantity:integer!,price:number!}[]!',
    'customer:{id:uuid!,email:string},at:timestamp,ok:boolean=false,xs:number[]=[]',
  ])('writes %s in the short form, and reads it back the same', (flag) => {
    const fields = ok(parseFieldsFlag(flag))
    const yaml = toFieldsYaml(fields)
    expect(Object.values(yaml).every((v) => typeof v === 'string')).toBe(true)
    expect(ok(parseFieldsYaml(yaml))).toEqual(fields)
  })

  it('writes the map form when a field has more than the flag can say, and reads it back the same', () => {
    const fields = ok(
      parseFieldsYaml(
        parse(`
sku: { type: string, required: true, unique: true, maxLength: 64, pattern: '^[A-Z]+$', example: [AB, CD] }
note: { type: string, default: 'two words' }
lines: { type: array, items: { type: object, fields: { n: { type: integer, min: 1 } } } }
`),
      ),
    )
    const yaml = toFieldsYaml(fields)
    expect(yaml.sku).toMatchObject({ type: 'string', unique: true, example: ['AB', 'CD'] })
    expect(yaml.note).toEqual({ type: 'string', default: 'two words' })
    expect(ok(parseFieldsYaml(yaml))).toEqual(fields)
  })
})
