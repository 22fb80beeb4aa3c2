import { describe, expect, it } from 'vitest'
import type { ServiceSpec, Workspace } from '../workspace/model.js'
import { buildCatalog, checkEventArg, formatSchema, toDeadLetterRow } from './catalog.js'

const svc = (publishes: string[], subscribes: string[]): ServiceSpec => ({
  description: '',
  capabilities: ['events'],
  resource: 'x',
  ports: { http: 3001 },
  calls: [],
  publishes,
  subscribes,
  replicas: 1,
  env: {},
})
const ws: Workspace = {
  name: 'shop',
  services: {
    order: svc(['order.created'], ['payment.processed']),
    payment: svc(['payment.processed'], ['order.created']),
    audit: svc([], ['refund.issued']),
    shipping: svc(['order.shipped'], []),
  },
  events: {
    'order.created': { schema: { orderId: 'string', total: 'number' } },
    'payment.processed': { schema: { id: 'string' } },
    'refund.issued': { schema: { id: 'string' } },
    'order.shipped': { schema: { id: 'string' } },
    'old.thing': { schema: {} },
  },
}

describe('buildCatalog', () => {
  it('lists every event with its publishers, subscribers and subject', () => {
    const c = buildCatalog(ws)
    expect(c.stream).toBe('shop-events')
    expect(c.events.find((e) => e.type === 'order.created')).toEqual({
      type: 'order.created',
      schema: { orderId: 'string', total: 'number' },
      publishers: ['order'],
      subscribers: ['payment'],
      subject: 'shop.events.order.created',
    })
  })
  it('warns about events nobody handles, handlers nobody feeds, and unused entries', () => {
    expect(buildCatalog(ws).warnings.map((w) => w.message)).toEqual([
      'old.thing is in the catalog but no service publishes or subscribes to it',
      'order.shipped is published by shipping but nobody subscribes to it',
      'audit subscribes to refund.issued but nobody publishes it',
    ])
  })
})

describe('checkEventArg', () => {
  it('accepts a catalog type', () => expect(checkEventArg(ws, 'order.created')).toBeUndefined())
  it('rejects a type that is not lowercase.dotted', () =>
    expect(checkEventArg(ws, 'OrderCreated')?.message).toMatch(/not lowercase\.dotted/))
  it('rejects an unknown type and names the known ones', () => {
    const p = checkEventArg(ws, 'order.deleted')
    expect(p?.message).toBe('event type "order.deleted" is not in the events catalog of msvc.yaml')
    expect(p?.hint).toContain('order.created')
  })
})

describe('dead letters', () => {
  it('reads the kit format', () => {
    const text = JSON.stringify({
      event: { id: 'e1', type: 'order.created', data: {} },
      error: 'boom',
      deliveries: 5,
      failedAt: '2026-01-01T00:00:00.000Z',
    })
    expect(toDeadLetterRow('shop', 'shop.dlq.payment.order.created', 7, text)).toMatchObject({
      seq: 7,
      service: 'payment',
      type: 'order.created',
      eventId: 'e1',
      deliveries: 5,
      error: 'boom',
      event: { id: 'e1' },
    })
  })
  it('shows a foreign or unparseable message without an event to replay', () => {
    const row = toDeadLetterRow('shop', 'shop.dlq.payment.order.created', 1, 'not json')
    expect(row).toMatchObject({ eventId: '-', error: '(no error recorded)' })
    expect(row.event).toBeUndefined()
  })
  it('formats schemas on one line', () =>
    expect(formatSchema({ a: 'string', b: 'number?' })).toBe('{ a: string, b: number? }'))
})
