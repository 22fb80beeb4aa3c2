import { describe, expect, it } from 'vitest'
import { parseWorkspace, type Problem } from './parse.js'
import { fitsType } from './sagas.js'

// The shop of the course: order owns the saga, inventory and payment are called over the network.
const SHOP = `name: shop
services:
  order:
    capabilities: [http, grpc]
    ports: { http: 3001, grpc: 50051 }
    store: postgres
    fields:
      productId: string!
      sku: string!
      quantity: integer!
      total: number!
      note: string
      status: enum(pending|confirmed|cancelled)=pending
    operations:
      confirm: {}
  inventory:
    capabilities: [http, grpc]
    ports: { http: 3002, grpc: 50052 }
    store: postgres
    fields: { sku: string!, stock: integer=0 }
    operations:
      reserve: { input: { sku: string!, quantity: integer! } }
      release: { input: { sku: string!, quantity: integer! } }
      recount: { on: collection, input: { sku: string! } }
  payment:
    capabilities: [http]
    ports: { http: 3003 }
    store: postgres
    fields: { orderId: string!, amount: number!, state: enum(captured|refunded)=captured }
    operations:
      charge: { on: collection, input: { orderId: string!, amount: number! } }
      refund: { on: collection, input: { orderId: string! } }
sagas:
  place-order:
    owner: order
    wait: 2s
    steps:
      - name: reserve-stock
        call: inventory.reserve
        compensate: inventory.release
        id: input.productId
        input: { sku: input.sku, quantity: input.quantity }
        timeout: 2s
        retries: 3
      - name: charge
        call: payment.charge
        compensate: payment.refund
        input: { orderId: input.id, amount: input.total }
      - name: confirm
        call: order.confirm
        id: input.id
`

function problemsOf(text: string): Problem[] {
  const r = parseWorkspace(text)
  if (r.ok) throw new Error('expected problems')
  return r.problems
}

/** The line of `needle` in `text` (1-based): where a problem must point. */
const lineOf = (text: string, needle: string, from = 0) => {
  const i = text.indexOf(needle, from)
  if (i < 0) throw new Error(`no ${needle}`)
  return text.slice(0, i).split('\n').length
}

describe('sagas in msvc.yaml (issue 17)', () => {
  it('reads a saga with its defaults, local steps marked, and the callees added to the owner`s calls', () => {
    const r = parseWorkspace(SHOP)
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    const saga = r.workspace.sagas!['place-order']!
    expect(saga).toMatchObject({ owner: 'order', trigger: 'create', wait: '2s' })
    expect(saga.steps.map((s) => [s.name, s.local, s.timeout, s.retries])).toEqual([
      ['reserve-stock', false, '2s', 3],
      ['charge', false, '5s', 0],
      ['confirm', true, '5s', 0],
    ])
    expect(saga.steps[0]).toMatchObject({
      call: { service: 'inventory', operation: 'reserve' },
      compensate: { service: 'inventory', operation: 'release' },
      id: 'input.productId',
      input: { sku: 'input.sku', quantity: 'input.quantity' },
    })
    expect(r.workspace.services.order!.calls).toEqual(['inventory', 'payment'])
  })

  it('has no sagas key when msvc.yaml declares none', () => {
    const r = parseWorkspace(SHOP.slice(0, SHOP.indexOf('sagas:')))
    expect(r.ok && r.workspace.sagas).toBeUndefined()
  })

  it('maps from an earlier step`s record, and an integer into a number', () => {
    const text = SHOP.replace(
      'input: { orderId: input.id, amount: input.total }',
      'input: { orderId: steps.reserve-stock.id, amount: input.quantity }',
    )
    expect(parseWorkspace(text).ok).toBe(true)
  })

  // each bad input: one problem, at its line, with a hint
  it.each([
    [
      'an unknown service in call',
      'call: payment.charge',
      'call: billing.charge',
      /unknown service "billing"/,
    ],
    [
      'an unknown operation',
      'call: payment.charge',
      'call: payment.capture',
      /payment has no operation capture/,
    ],
    [
      'a compensation that does not exist',
      'compensate: payment.refund',
      'compensate: payment.undo',
      /payment has no operation undo to compensate with/,
    ],
    [
      'a call that is not service.operation',
      'call: payment.charge',
      'call: charge',
      /is not service.operation/,
    ],
    [
      'a duplicate step name',
      '- name: charge',
      '- name: reserve-stock',
      /step reserve-stock is declared twice/,
    ],
    [
      'a mapping from an unknown field',
      'amount: input.total',
      'amount: input.price',
      /order's record has no field price/,
    ],
    [
      'a mapping of the wrong type',
      'amount: input.total',
      'amount: input.sku',
      /input.sku is string, and charge's amount is number/,
    ],
    [
      'a mapping from a field that may be absent into a required one',
      'orderId: input.id',
      'orderId: input.note',
      /input.note may be absent, and charge's and refund's orderId is required/,
    ],
    [
      'a mapping to a field the operation lacks',
      'amount: input.total',
      'amount: input.total, tip: input.total',
      /no field tip/,
    ],
    [
      'a mapping from a later step',
      'orderId: input.id',
      'orderId: steps.confirm.id',
      /step confirm runs after charge/,
    ],
    ['a mapping from an unknown step', 'orderId: input.id', 'orderId: steps.pay.id', /there is no step pay/],
    [
      'a mapping from a step that answers a list',
      '        id: input.id\n',
      '        id: steps.charge.id\n',
      /charge acts on the collection and answers a list/,
    ],
    ['a source that is neither input nor steps', 'orderId: input.id', 'orderId: id', /"id" is not a source/],
    [
      'a required field left unmapped',
      'input: { orderId: input.id, amount: input.total }',
      'input: { orderId: input.id }',
      /leaves charge's amount unmapped/,
    ],
    [
      'an id on a collection operation',
      'compensate: payment.refund\n',
      'compensate: payment.refund\n        id: input.id\n',
      /charge acts on the collection and takes no id/,
    ],
    [
      'a record operation without an id',
      '        id: input.productId\n',
      '',
      /reserve acts on one record, and the step has no id/,
    ],
    [
      'a compensation in another service',
      'compensate: inventory.release',
      'compensate: payment.refund',
      /calls inventory and compensates with payment/,
    ],
    ['an unknown owner', 'owner: order', 'owner: shop', /its owner "shop" is not a service/],
    [
      'an owner without postgres',
      '    store: postgres\n    fields:\n      productId',
      '    fields:\n      productId',
      /order has no store: postgres/,
    ],
    ['a bad duration', 'wait: 2s', 'wait: soon', /"soon" is not a duration/],
    ['an unknown key in a step', 'retries: 3', 'retry: 3', /retry/],
    ['too many retries', 'retries: 3', 'retries: 11', /must be <= 10/],
    [
      'a step calling an operation that answers its own shape',
      'charge: { on: collection, input: { orderId: string!, amount: number! } }',
      'charge: { on: collection, input: { orderId: string!, amount: number! }, returns: { receipt: string! } }',
      /payment.charge answers its own shape \(returns\), which a saga step cannot take yet/,
    ],
  ])('refuses %s', (_, from, to, message) => {
    expect(SHOP.includes(from)).toBe(true)
    const text = SHOP.replace(from, to)
    const problems = problemsOf(text)
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(message)])
    // the problem points into the sagas (or at the owner's service), never at line 1
    expect(problems[0]!.line).toBeGreaterThan(lineOf(text, to === '' ? 'sagas:' : 'services:'))
  })

  it('points at the line of the bad step', () => {
    const text = SHOP.replace('call: payment.charge', 'call: payment.capture')
    expect(problemsOf(text)[0]).toMatchObject({ line: lineOf(text, 'call: payment.capture') })
  })

  it('refuses a cycle: a callee of the saga that calls its owner back', () => {
    const text = SHOP.replace(
      '    ports: { http: 3003 }\n',
      '    ports: { http: 3003 }\n    calls: [order]\n',
    )
    const problems = problemsOf(text)
    expect(problems.map((p) => p.message)).toEqual([
      'saga place-order: order would call payment, and payment -> order calls back: a cycle',
    ])
    expect(problems[0]!.line).toBe(lineOf(text, 'call: payment.charge'))
  })

  it('refuses a cycle made by two sagas calling into each other`s owners', () => {
    const text =
      SHOP.replace('    ports: { http: 3003 }\n', '    ports: { http: 3003 }\n') +
      `  pay-back:
    owner: payment
    steps:
      - { name: confirm-order, call: order.confirm, id: input.orderId }
`
    const messages = problemsOf(text).map((p) => p.message)
    expect(messages.some((m) => /a cycle/.test(m))).toBe(true)
  })

  it('refuses two sagas started by the same create', () => {
    const text = `${SHOP}  place-again:
    owner: order
    steps:
      - { name: confirm, call: order.confirm, id: input.id }
`
    expect(problemsOf(text).map((p) => p.message)).toEqual([
      "saga place-again: order's create already starts saga place-order",
    ])
  })
})

describe('fitsType', () => {
  it.each([
    [{ kind: 'integer' }, { kind: 'number' }, true],
    [{ kind: 'number' }, { kind: 'integer' }, false],
    [{ kind: 'uuid' }, { kind: 'string' }, true],
    [{ kind: 'string' }, { kind: 'uuid' }, false],
    [{ kind: 'enum', values: ['a'] }, { kind: 'enum', values: ['a', 'b'] }, true],
    [{ kind: 'enum', values: ['a', 'c'] }, { kind: 'enum', values: ['a', 'b'] }, false],
    [{ kind: 'array', items: { kind: 'integer' } }, { kind: 'array', items: { kind: 'number' } }, true],
    [{ kind: 'string' }, { kind: 'array', items: { kind: 'string' } }, false],
  ] as const)('%j into %j: %s', (from, to, fits) => {
    expect(fitsType(from as never, to as never)).toBe(fits)
  })

  it('an object fits when it has every field the target requires, always present', () => {
    const to = {
      kind: 'object' as const,
      fields: [{ name: 'sku', type: { kind: 'string' as const }, required: true, unique: false }],
    }
    const from = (required: boolean) => ({
      kind: 'object' as const,
      fields: [{ name: 'sku', type: { kind: 'string' as const }, required, unique: false }],
    })
    expect(fitsType(from(true), to)).toBe(true)
    expect(fitsType(from(false), to)).toBe(false)
    expect(fitsType({ kind: 'object', fields: [] }, to)).toBe(false)
  })
})
