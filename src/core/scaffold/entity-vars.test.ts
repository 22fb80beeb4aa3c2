import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { parseFieldsFlag, parseFieldsYaml, type FieldSpec } from '../workspace/fields.js'
import type { ServiceSpec } from '../workspace/model.js'
import { parseOperationsFlag } from '../workspace/operations.js'
import { fieldSchema, outOfLimits, sampleOf, toEntityVars, toSnakeCase } from './entity-vars.js'
import { unwrap } from './ts-literal.js'

const fieldsOf = (flag: string): FieldSpec[] => {
  const r = parseFieldsFlag(flag)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.fields
}
const spec = (extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  description: '',
  capabilities: ['http', 'grpc'],
  resource: 'inventories',
  ports: { http: 3001, grpc: 50051 },
  calls: [],
  publishes: [],
  subscribes: [],
  replicas: 1,
  env: {},
  ...extra,
})

const newSchema = (fields: FieldSpec[]) => ({
  type: 'object',
  additionalProperties: false,
  required: fields.filter((f) => f.required).map((f) => f.name),
  properties: Object.fromEntries(fields.map((f) => [f.name, unwrap(fieldSchema(f))])),
})

const FIELD_SETS = {
  inventory: fieldsOf('sku:string!,quantity:integer,reserved:integer=0,tags:string[]'),
  order: fieldsOf(
    'items:{sku:string!,quantity:integer!,price:number!}[]!,total:number=0,status:enum(pending|paid)=pending,' +
      'customer:{id:uuid!,email:string,tags:string[]},at:timestamp,paid:boolean',
  ),
  limited: (() => {
    const r = parseFieldsYaml({
      code: {
        type: 'string',
        required: true,
        unique: true,
        pattern: '^[A-Z]{2}[0-9]$',
        example: ['AB1', 'CD2'],
      },
      name: { type: 'string', required: true, minLength: 3, maxLength: 5 },
      count: { type: 'integer', min: 10, max: 11 },
      lines: { type: 'array', items: 'string', min: 2 },
    })
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    return r.fields
  })(),
}

describe('samples and schemas come from the same fields', () => {
  it.each(Object.entries(FIELD_SETS))('the %s samples fit the create schema', (_name, fields) => {
    const validate = new Ajv({ useDefaults: true }).compile(newSchema(fields))
    for (const n of [1, 2]) {
      const sample = structuredClone(sampleOf(fields, n))
      expect(validate(sample), JSON.stringify(validate.errors)).toBe(true)
    }
  })

  it.each(Object.entries(FIELD_SETS))('the %s samples differ in every unique field', (_name, fields) => {
    for (const f of fields.filter((x) => x.unique))
      expect(sampleOf(fields, 1)[f.name]).not.toEqual(sampleOf(fields, 2)[f.name])
  })

  it("a value out of a field's limits fails the schema at that field", () => {
    const fields = FIELD_SETS.limited
    const validate = new Ajv().compile(newSchema(fields))
    for (const f of fields) {
      const bad = outOfLimits(f)
      if (bad === undefined) continue
      expect(validate({ ...sampleOf(fields, 1), [f.name]: bad })).toBe(false)
      expect(validate.errors?.[0]?.instancePath).toBe(`/${f.name}`)
    }
  })

  it('fills nested defaults: an absent list inside an object becomes []', () => {
    const validate = new Ajv({ useDefaults: true }).compile(newSchema(FIELD_SETS.order))
    const input = {
      ...sampleOf(FIELD_SETS.order, 1),
      customer: { id: '00000000-0000-4000-8000-000000000001' },
    }
    expect(validate(input)).toBe(true)
    expect(input.customer).toEqual({ id: '00000000-0000-4000-8000-000000000001', tags: [] })
  })
})

describe('toEntityVars', () => {
  it('without declared fields, the aggregate is the unique name, description and status of old', () => {
    const v = toEntityVars(spec())
    expect(v.defaultFields).toBe(true)
    expect(v.entityTs).toEqual([
      '  name: string',
      '  description?: string',
      "  status: 'active' | 'inactive'",
    ])
    expect(v.unique.map((u) => u.name)).toEqual(['name'])
    expect(v.defaultsTs).toBe("{ status: 'active' }")
  })

  it('types the record, the create input and the changes from the fields', () => {
    const v = toEntityVars(spec({ fields: FIELD_SETS.order, resource: 'orders' }))
    expect(v.nested.map((n) => n.name)).toEqual(['OrderItem', 'OrderCustomer'])
    expect(v.entityTs).toEqual([
      '  items: OrderItem[]',
      '  total: number',
      "  status: 'pending' | 'paid'",
      '  customer?: OrderCustomer',
      '  at?: string',
      '  paid?: boolean',
    ])
    expect(v.newTs[1]).toBe('  total?: number')
    expect(v.changesTs.every((l) => l.includes('?:'))).toBe(true)
    expect(v.nested[1]!.tsLines).toEqual(['  id: string', '  email?: string', '  tags: string[]'])
  })

  it('answers no writeOnly field: left out of the response schema, the filters and the answered sample', () => {
    const r = parseFieldsYaml({
      email: { type: 'string', required: true, unique: true, example: ['a@x.io', 'b@x.io'] },
      passwordHash: { type: 'string', required: true, writeOnly: true },
      pin: { type: 'integer', writeOnly: true },
      name: 'string!',
    })
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    const v = toEntityVars(spec({ fields: r.fields, resource: 'users', capabilities: ['http'] }))
    expect(v.writeOnly).toEqual([{ name: 'passwordHash' }, { name: 'pin' }])
    // create and update still take them
    expect(v.fieldsSchemaTs).toMatch(/email[\s\S]*passwordHash[\s\S]*pin[\s\S]*name/)
    expect(v.answeredSchemaTs).not.toMatch(/passwordHash|pin/)
    expect(v.answeredSchemaTs).toMatch(/email[\s\S]*name/)
    expect(v.presentTs).not.toMatch(/passwordHash/)
    expect(v.countFiltersTs).toBe("['email', 'name']")
    expect(v.summedTs).toBe('[]')
    expect(v.samples.patch).not.toMatch(/passwordHash|pin/)
    expect(v.samples.answered).toBe('oneAnswered')
    expect(v.samples.answeredDecl).toMatch(
      /^const oneAnswered = \{ email: 'a@x\.io', name: '[^']+' \} satisfies Partial<User>$/,
    )
    // without one, nothing changes
    const plain = toEntityVars(spec({ fields: FIELD_SETS.inventory }))
    expect([plain.answeredSchemaTs, plain.samples.answered, plain.samples.answeredDecl]).toEqual([
      '',
      'one',
      '',
    ])
  })

  it('counts by the text fields and sums the number fields (GET /<resource>/count)', () => {
    const v = toEntityVars(spec({ fields: FIELD_SETS.order, resource: 'orders' }))
    // items and customer are lists and objects, at a timestamp and paid a boolean: neither
    expect(v.countFiltersTs).toBe("['status']")
    expect(v.summedTs).toBe("['total']")
    expect(v.countFilter).toBe('status')
    expect(v.modelImportTs.pg).toBe(
      "import type { Order, OrderCount, OrderCountFilter } from './order.model.js'",
    )
    const long = toEntityVars(spec({ fields: FIELD_SETS.order, resource: 'stock-keeping-unit-reservations' }))
    expect(long.modelImportTs.pg.split('\n')).toEqual([
      'import type {',
      '  StockKeepingUnitReservation,',
      '  StockKeepingUnitReservationCount,',
      '  StockKeepingUnitReservationCountFilter,',
      "} from './stock-keeping-unit-reservation.model.js'",
    ])
  })

  it('numbers proto fields after id, version and the times, optional where proto3 needs presence', () => {
    const v = toEntityVars(spec({ fields: FIELD_SETS.inventory }))
    expect(v.protoEntityLines).toEqual([
      '  string sku = 5;',
      '  optional int64 quantity = 6;',
      '  int64 reserved = 7;',
      '  repeated string tags = 8;',
    ])
    expect(v.protoCreateLines).toEqual([
      '  string sku = 1;',
      '  optional int64 quantity = 2;',
      '  optional int64 reserved = 3;',
      '  repeated string tags = 4;',
    ])
    expect(v.protoUpdateLines[0]).toBe('  optional string sku = 3;')
  })

  it('names each operation for REST, gRPC and TypeScript', () => {
    const ops = parseOperationsFlag('reserve(sku:string!,quantity:integer!),*recount()~')
    if (!ops.ok) throw new Error('bad operations')
    const v = toEntityVars(spec({ fields: FIELD_SETS.inventory, operations: ops.operations }))
    expect(v.operations.map((o) => [o.method, o.kebab, o.inputType, o.record, o.idempotent])).toEqual([
      ['ReserveInventory', 'reserve', 'ReserveInventoryInput', true, false],
      ['RecountInventories', 'recount', 'RecountInventoriesInput', false, true],
    ])
    expect(v.operations[0]!.protoRequestLines).toEqual(['  string sku = 2;', '  int64 quantity = 3;'])
    expect(v.operations[0]!.sampleFlat).toBe("{ sku: 'sku-1', quantity: 1 }")
    expect(v.operations[1]!.inputTs).toEqual([])
  })

  it('breaks the service class line as prettier does when the names are long', () => {
    expect(toEntityVars(spec()).serviceClassOpen).toBe(
      'export class InventoryService extends InventoryCrud implements InventoryOperations {',
    )
    const long = toEntityVars(spec({ resource: 'stock-positions-of-items' })).serviceClassEmpty
    expect(long.split('\n')).toEqual([
      'export class StockPositionsOfItemService',
      '  extends StockPositionsOfItemCrud',
      '  implements StockPositionsOfItemOperations {}',
    ])
  })

  it('writes proto field names in snake_case', () => {
    expect(['sku', 'quantityOnHand', 'line2Address'].map(toSnakeCase)).toEqual([
      'sku',
      'quantity_on_hand',
      'line2_address',
    ])
  })
})
