import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { workspaceServiceTables } from '../db/table.js'
import { parseWorkspace } from '../workspace/parse.js'
import { toDbVars } from './db-vars.js'
import { toTemplateVars } from './plan.js'
import { sagaExpression, toSagaVars } from './saga-vars.js'

// The generation of sagas (docs/sagas.md): the shop of test/fixtures/sagas, order owning place-order.
const SHOP = readFileSync(new URL('../../../test/fixtures/sagas/msvc.yaml', import.meta.url), 'utf8')
const parsed = parseWorkspace(SHOP)
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
const ws = parsed.workspace

describe('saga tables', () => {
  it('gives the owner the saga tables, every postgres service with operations the idempotency keys', () => {
    const names = (s: string) => workspaceServiceTables(ws, s).map((t) => t.name)
    expect(names('order')).toEqual([
      'orders',
      'outbox',
      'idempotency_keys',
      'sagas',
      'saga_steps',
      'saga_runners',
    ])
    expect(names('inventory')).toEqual(['inventories', 'outbox', 'idempotency_keys'])
    expect(names('payment')).toEqual(['payments', 'outbox', 'idempotency_keys'])
  })

  it('declares them in schema.ts after the entity and the outbox', () => {
    const db = toDbVars(ws.services.order!, 'order', workspaceServiceTables(ws, 'order'))
    expect(db.extraTables.map((t) => /pgTable\(\n {2}'(\w+)'/.exec(t.ts)![1])).toEqual([
      'idempotency_keys',
      'sagas',
      'saga_steps',
      'saga_runners',
    ])
    expect(db.extraTables.every((t) => t.comment.length > 0)).toBe(true)
    expect(db.builders).toEqual(expect.arrayContaining(['bigserial', 'jsonb', 'doublePrecision']))
    const vars = toTemplateVars(ws, 'payment', '0.0.0')
    expect(vars.db !== false && vars.db !== true && vars.db.extraTables.length).toBe(1)
  })
})

describe('saga definitions (src/sagas.ts of the owner)', () => {
  it('maps input.<field> to the saga input and steps.<step>.<field> to that step’s answer', () => {
    expect(sagaExpression('input.sku')).toBe('ctx.input.sku')
    expect(sagaExpression('steps.charge.id')).toBe("output(ctx, 'charge').id")
    expect(() => sagaExpression('total')).toThrow(/not a saga expression/)
  })

  it('calls gRPC callees through the typed client and the others over HTTP, each with its key and timeout, and runs the owner’s own steps in process', () => {
    const vars = toSagaVars(ws, 'order')
    if (!vars) throw new Error('order owns place-order')
    expect(vars).toMatchObject({ usesGrpc: true, usesHttp: true, usesOutputs: false })
    const ts = vars.list[0]!.definitionTs
    expect(ts).toContain("defineSaga<Order>({\n    name: 'place-order',")
    // reserve-stock: a record operation over gRPC, its id and input mapped, the step's 2 s as the deadline
    expect(ts).toContain(
      [
        '          const request = {',
        '            id: ctx.input.productId,',
        '            sku: ctx.input.sku,',
        '            quantity: ctx.input.quantity,',
        '          }',
        '          const options = grpcOptions(ctx, 2000)',
        '          return (await deps.grpc.inventory.reserveInventory(request, options)).inventory',
      ].join('\n'),
    )
    expect(ts).toContain('retries: 2,')
    expect(ts).toContain('deps.grpc.inventory.releaseInventory(request, options)')
    // charge: a collection operation over HTTP, 3 s
    expect(ts).toContain("return post(deps.http.payment!, '/payments/charge', body, ctx, 3000)")
    expect(ts).toContain("return post(deps.http.payment!, '/payments/refund', body, ctx, 3000)")
    // confirm: order's own, in the step's transaction
    expect(ts).toContain("name: 'confirm',\n        local: true,")
    expect(ts).toContain('return deps.service.confirm(ctx.input.id, input)')
    expect(vars.trigger).toMatchObject({
      name: 'place-order',
      waitMs: 2000,
      stepsTs: "['reserve-stock', 'charge', 'confirm']",
      refuse: { step: 'charge', label: 'payment /charge', compensatedTs: "['reserve-stock']" },
    })
    expect(vars.callees).toEqual([
      { name: 'inventory', camel: 'inventory', grpc: true },
      { name: 'payment', camel: 'payment', grpc: false },
    ])
  })

  it('generates nothing of sagas in a service that owns none', () => {
    expect(toSagaVars(ws, 'inventory')).toBe(false)
    expect(toTemplateVars(ws, 'payment', '0.0.0').sagas).toBe(false)
  })
})
