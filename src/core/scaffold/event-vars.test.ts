import { describe, expect, it } from 'vitest'
import type { ServiceSpec, Workspace } from '../workspace/model.js'
import { serviceSpec } from '../../../test/helpers/service-spec.js'
import { toCreatedEventVars, toEventVars, toServiceEvents } from './event-vars.js'

const svc = (over: Partial<ServiceSpec>) =>
  serviceSpec({ capabilities: ['http', 'events'], resource: 'orders', ...over })
const ws: Workspace = {
  name: 'shop',
  services: {},
  events: {
    'order.created': {
      schema: { orderId: 'string', total: 'number', name: 'string', note: 'string?', 'x-y': 'integer' },
    },
    'payment.processed': { description: 'money moved', schema: { paymentId: 'string', ok: 'boolean' } },
    'unused.thing': { schema: {} },
  },
}

describe('event template variables', () => {
  it('turns a schema into typed fields with samples', () => {
    const v = toEventVars(ws, 'order.created')
    expect(v.pascal).toBe('OrderCreated')
    expect(v.schemaTs).toBe(
      "{ orderId: 'string', total: 'number', name: 'string', note: 'string?', 'x-y': 'integer' }",
    )
    expect(v.fields.map((f) => [f.key, f.tsType, f.optional, f.sample])).toEqual([
      ['orderId', 'string', false, "'x'"],
      ['total', 'number', false, '1.5'],
      ['name', 'string', false, "'x'"],
      ['note', 'string', true, "'x'"],
      ["'x-y'", 'number', false, '1'],
    ])
    expect(v.requiredFields.map((f) => f.name)).not.toContain('note')
  })

  it('lists the catalog entries a service uses, once', () => {
    const spec = svc({ publishes: ['order.created'], subscribes: ['payment.processed', 'order.created'] })
    expect(toServiceEvents(ws, spec).map((e) => e.type)).toEqual(['order.created', 'payment.processed'])
  })

  it('maps the created entity onto <entity>.created, zero values with a TODO for the rest', () => {
    const v = toCreatedEventVars(ws, svc({ publishes: ['order.created'] }))
    expect(v && v.mapped).toEqual([
      { name: 'orderId', key: 'orderId', expr: 'item.id', todo: false },
      { name: 'total', key: 'total', expr: '0', todo: true },
      { name: 'name', key: 'name', expr: 'item.name', todo: false },
      { name: 'x-y', key: "'x-y'", expr: '0', todo: true },
    ])
  })

  it("copies the aggregate's lists and objects when their shape fits the event's", async () => {
    const { parseFieldsFlag } = await import('../workspace/fields.js')
    const fields = parseFieldsFlag(
      'items:{sku:string!,quantity:integer!}[]!,customer:{id:string!,note:string},total:number=0',
    )
    if (!fields.ok) throw new Error('bad fields')
    const events: Workspace['events'] = {
      'order.created': {
        schema: {
          orderId: 'string',
          items: '{sku:string,quantity:number}[]',
          customer: '{id:string,note:string?}',
          total: 'number',
          lines: '{sku:string}[]',
        },
      },
    }
    const v = toCreatedEventVars(
      { ...ws, events },
      svc({ publishes: ['order.created'], fields: fields.fields }),
    )
    expect(v && v.mapped.map((m) => [m.name, m.expr, m.todo])).toEqual([
      ['orderId', 'item.id', false],
      ['items', 'item.items', false],
      // optional in the aggregate: not always there to copy
      ['customer', "{ id: '' }", true],
      ['total', 'item.total', false],
      ['lines', '[]', true],
    ])
  })

  it('publishes nothing on create unless the model says so', () => {
    expect(toCreatedEventVars(ws, svc({ publishes: ['payment.processed'] }))).toBe(false)
    expect(toCreatedEventVars(ws, svc({ capabilities: ['events'], publishes: ['order.created'] }))).toBe(
      false,
    )
  })
})
