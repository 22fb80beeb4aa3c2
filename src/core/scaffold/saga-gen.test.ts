import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { workspaceServiceTables } from '../db/table.js'
import { parseWorkspace } from '../workspace/parse.js'
import { toDbVars } from './db-vars.js'
import { toTemplateVars } from './plan.js'

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
