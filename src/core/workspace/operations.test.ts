import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  parseOperationsFlag,
  parseOperationsYaml,
  toOperationsYaml,
  type OperationsResult,
} from './operations.js'

const problems = (r: OperationsResult) => (r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`))

describe('--operations', () => {
  it("reads the issue's reserve and release, an idempotent one and one on the collection", () => {
    const r = parseOperationsFlag(
      'reserve(sku:string!,quantity:integer!),release(sku:string!,quantity:integer!),confirm()~,*restock(sku:string!)',
    )
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    expect(r.operations.map((o) => [o.name, o.input.map((f) => f.name), o.idempotent, o.on])).toEqual([
      ['reserve', ['sku', 'quantity'], false, 'record'],
      ['release', ['sku', 'quantity'], false, 'record'],
      ['confirm', [], true, 'record'],
      ['restock', ['sku'], false, 'collection'],
    ])
  })

  it.each([
    ['create(name:string)', 'create: "create" is a CRUD route every resource has'],
    ['count(status:string)', 'count: "count" is a CRUD route every resource has'],
    ['change(name:string)', 'change: "change" is a member of the generated <Entity>Crud class'],
    ['repo()', 'repo: "repo" is a member of the generated <Entity>Crud class'],
    ['reserve(),reserve()', 'reserve: "reserve" is declared twice'],
    ['reserve(sku:text)', 'reserve(sku): unknown field type "text"'],
    ['reserve', 'reserve: "reserve" is not an operation'],
    ['Reserve()', 'Reserve: "Reserve" is not an operation name'],
  ])('refuses %s', (flag, problem) => {
    expect(problems(parseOperationsFlag(flag))).toContain(problem)
  })
})

describe('operations: in msvc.yaml', () => {
  it('reads what an operation returns, and writes it back', () => {
    const r = parseOperationsYaml(
      parse(
        `login: { on: collection, input: { email: string! }, returns: { token: string!, ttl: integer } }`,
      ),
    )
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    expect(r.operations[0]!.returns).toMatchObject([
      { name: 'token', required: true, type: { kind: 'string' } },
      { name: 'ttl', required: false, type: { kind: 'integer' } },
    ])
    const again = parseOperationsYaml(toOperationsYaml(r.operations))
    expect(again).toEqual(r)
  })

  it('refuses writeOnly in an input or an answer: only an aggregate field is never answered', () => {
    const r = parseOperationsYaml(
      parse(
        'login: { on: collection, input: { password: { type: string, writeOnly: true } }, returns: { token: { type: string, writeOnly: true } } }',
      ),
    )
    expect(problems(r)).toEqual([
      "login.input.password: writeOnly applies to the aggregate's fields, not to an operation's input",
      "login.returns.token: writeOnly applies to the aggregate's fields, not to an operation's returns",
    ])
  })

  it('gives what the flag gives, with the events each publishes', () => {
    const r = parseOperationsYaml(
      parse(`
reserve: { input: { sku: string!, quantity: integer! }, publishes: [inventory.reserved] }
confirm: { idempotent: true }
restock: { on: collection, input: { sku: string! } }
`),
    )
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    const flag = parseOperationsFlag(
      'reserve(sku:string!,quantity:integer!),confirm()~,*restock(sku:string!)',
    )
    if (!flag.ok) throw new Error('flag')
    expect(r.operations.map((o) => ({ ...o, publishes: [] }))).toEqual(flag.operations)
    expect(r.operations[0]!.publishes).toEqual(['inventory.reserved'])
  })

  it.each([
    ['delete: {}', 'delete: "delete" is a CRUD route every resource has'],
    ['x: { on: somewhere }', 'x: on: must be record or collection, not "somewhere"'],
    ['x: { input: { id: string } }', 'x.input.id: "id" is reserved: every record has it'],
    ['x: { inputs: {} }', 'x: has an unknown key "inputs"'],
    ['x: { returns: {} }', 'x: returns: names no field'],
    ['x: { returns: { token: text } }', 'x.returns.token: unknown field type "text"'],
  ])('refuses %s', (text, problem) => {
    expect(problems(parseOperationsYaml(parse(text)))).toContain(problem)
  })
})
