import { describe, expect, it } from 'vitest'
import { parseWorkspace } from '../workspace/parse.js'
import type { Workspace } from '../workspace/model.js'
import { buildSystemGraph } from './graph.js'
import { MASK } from './secrets.js'

const ws = (text: string): Workspace => {
  const r = parseWorkspace(text)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.workspace
}

export const SHOP_YAML = `name: shop
services:
  gateway:
    kind: gateway
    ports: { http: 8080 }
  order:
    capabilities: [http, events]
    resource: orders
    ports: { http: 3001 }
    calls: [payment, inventory]
    publishes: [order.created]
    store: postgres
  payment:
    capabilities: [http, events]
    ports: { http: 3002 }
    publishes: [payment.processed]
    env: { PAYMENT_API_KEY: "sk_test_123", CURRENCY: EUR }
  inventory:
    capabilities: [http, events]
    ports: { http: 3003 }
    subscribes: [order.created]
    replicas: 2
  notification:
    capabilities: [events]
    ports: { http: 3004 }
    subscribes: [order.created, payment.processed]
events:
  order.created: { schema: { id: string } }
  payment.processed: { schema: { id: string } }
`

describe('buildSystemGraph', () => {
  const g = buildSystemGraph(ws(SHOP_YAML))

  it('has the services, the gateway, the database and NATS', () => {
    expect(g.nodes.map((n) => [n.id, n.kind])).toEqual([
      ['gateway', 'gateway'],
      ['inventory', 'service'],
      ['notification', 'service'],
      ['order', 'service'],
      ['payment', 'service'],
      ['nats', 'broker'],
      ['order-db', 'database'],
    ])
    expect(g.nodes.find((n) => n.id === 'inventory')!.replicas).toBe(2)
  })

  it('draws calls, events from publisher to subscriber, and stores', () => {
    expect(g.edges).toEqual([
      // the gateway calls every HTTP service it routes to
      { from: 'gateway', to: 'inventory', kind: 'call' },
      { from: 'gateway', to: 'order', kind: 'call' },
      { from: 'gateway', to: 'payment', kind: 'call' },
      { from: 'order', to: 'inventory', kind: 'call' },
      { from: 'order', to: 'payment', kind: 'call' },
      { from: 'order', to: 'inventory', kind: 'event', events: ['order.created'] },
      { from: 'order', to: 'notification', kind: 'event', events: ['order.created'] },
      { from: 'payment', to: 'notification', kind: 'event', events: ['payment.processed'] },
      { from: 'order', to: 'order-db', kind: 'store' },
    ])
  })

  it('lays callers left of their callees and publishers left of subscribers, databases right of their owner, NATS last', () => {
    const col = Object.fromEntries(g.nodes.map((n) => [n.id, n.column]))
    expect(col).toMatchObject({
      gateway: 0,
      order: 1,
      payment: 2,
      inventory: 2,
      'order-db': 2,
      notification: 3,
      nats: 4,
    })
    // rows are distinct within a column
    for (const c of new Set(Object.values(col))) {
      const rows = g.nodes.filter((n) => n.column === c).map((n) => n.row)
      expect(new Set(rows).size).toBe(rows.length)
    }
  })

  it('masks secrets in the environment it shows', () => {
    const payment = g.nodes.find((n) => n.id === 'payment')!
    expect(payment.env.PAYMENT_API_KEY).toBe(MASK)
    expect(payment.env.CURRENCY).toBe('EUR')
    const order = g.nodes.find((n) => n.id === 'order')!
    expect(order.env.DATABASE_URL).toBe(`postgres://order:${MASK}@order-db:5432/order`)
    const db = g.nodes.find((n) => n.id === 'order-db')!
    expect(db.env.POSTGRES_PASSWORD).toBe(MASK)
  })

  it('survives an empty workspace', () => {
    expect(buildSystemGraph(ws('name: empty\nservices: {}\n'))).toEqual({
      workspace: 'empty',
      nodes: [],
      edges: [],
    })
  })
})
