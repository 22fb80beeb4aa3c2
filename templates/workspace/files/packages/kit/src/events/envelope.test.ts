import { describe, expect, it } from 'vitest'
import {
  redeliveryDelay,
  checkEventType,
  childTraceparent,
  createEnvelope,
  parseEnvelope,
  parseNatsUrl,
  subjects,
  validatePayload,
} from './envelope.js'

describe('event names', () => {
  it.each(['order.created', 'payment.card.declined', 'a1.b2'])('accepts %s', (t) => {
    expect(checkEventType(t)).toBeUndefined()
  })
  it.each(['Order.created', 'order', 'order_created', 'order.', '.order', 'order..x', 'order.Created'])(
    'rejects %s',
    (t) => {
      expect(checkEventType(t)).toMatch(/not lowercase\.dotted/)
    },
  )
  it('derives stream, subjects and durable names from the workspace', () => {
    expect(subjects.stream('shop')).toBe('shop-events')
    expect(subjects.event('shop', 'order.created')).toBe('shop.events.order.created')
    expect(subjects.deadLetter('shop', 'payment', 'order.created')).toBe('shop.dlq.payment.order.created')
    expect(subjects.durable('payment', 'order.created')).toBe('payment--order_created')
  })
})

describe('envelope', () => {
  it('carries id, type, source, time, trace context and data', () => {
    const e = createEnvelope('order.created', '/shop/order', { orderId: 'o1' }, { now: new Date(0) })
    expect(e).toMatchObject({
      specversion: '1.0',
      type: 'order.created',
      source: '/shop/order',
      time: '1970-01-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      data: { orderId: 'o1' },
    })
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(e.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(parseEnvelope(JSON.stringify(e))).toEqual(e)
  })
  it('keeps the trace id of the incoming traceparent under a new span', () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const child = childTraceparent(parent)
    expect(child.startsWith('00-0af7651916cd43dd8448eb211c80319c-')).toBe(true)
    expect(child).not.toBe(parent)
    expect(childTraceparent('garbage')).toMatch(/^00-[0-9a-f]{32}-/)
  })
  it.each([
    ['not json', /not valid JSON/],
    ['[1]', /not a JSON object/],
    ['{"type":"a.b","source":"s","time":"t","data":{}}', /no id/],
    ['{"id":"1","type":"a.b","source":"s","time":"t"}', /no data/],
  ])('rejects %s', (text, msg) => {
    expect(() => parseEnvelope(text)).toThrow(msg)
  })
})

describe('validatePayload', () => {
  const schema = { orderId: 'string', total: 'number', items: 'integer', paid: 'boolean', note: 'string?' }
  it('accepts a payload that matches', () => {
    expect(validatePayload(schema, { orderId: 'o1', total: 9.5, items: 2, paid: false })).toEqual([])
  })
  it('names every problem', () => {
    expect(validatePayload(schema, { orderId: 1, total: 'x', items: 1.5, extra: true })).toEqual([
      'orderId must be a string, got 1',
      'total must be a number, got "x"',
      'items must be an integer, got 1.5',
      'paid is required',
      'extra is not a field of this event',
    ])
    expect(validatePayload(schema, null)).toEqual(['payload must be a JSON object'])
  })
  it('lets subscribers accept fields a newer publisher added', () => {
    expect(validatePayload({ id: 'string' }, { id: 'a', more: 1 }, true)).toEqual([])
  })
})

describe('parseNatsUrl', () => {
  it('accepts nats:// and tls:// lists', () => {
    expect(parseNatsUrl('nats://nats:4222')).toBe('nats://nats:4222')
    expect(parseNatsUrl('nats://a:4222, tls://b:4222')).toBe('nats://a:4222,tls://b:4222')
  })
  it.each([
    ['localhost:4222', /must start with nats:\/\//],
    ['http://nats:4222', /must start with nats:\/\//],
    ['nats//nats', /is not a URL/],
  ])('rejects %s', (raw, msg) => {
    expect(() => parseNatsUrl(raw)).toThrow(msg)
  })
})

describe('redeliveryDelay', () => {
  it('doubles from the base, caps, and jitters within half', () => {
    expect([1, 2, 3, 4, 10].map((n) => redeliveryDelay(n, 100, 1000, () => 1))).toEqual([
      100, 200, 400, 800, 1000,
    ])
    expect(redeliveryDelay(3, 100, 1000, () => 0)).toBe(200)
  })
})

describe('validatePayload with objects and arrays', () => {
  const schema = { id: 'string', items: '{sku:string,quantity:integer,note:string?}[]', tags: 'string[]?' }
  it('accepts a payload that fits, and names each problem by its path', () => {
    expect(validatePayload(schema, { id: 'o1', items: [{ sku: 'A', quantity: 2 }] })).toEqual([])
    expect(
      validatePayload(schema, {
        id: 'o1',
        items: [
          { sku: 'A', quantity: 2.5 },
          { quantity: 1, extra: true },
        ],
        tags: 'x',
      }),
    ).toEqual([
      'items[0].quantity must be an integer, got 2.5',
      'items[1].sku is required',
      'items[1].extra is not a field of this event',
      'tags must be an array, got "x"',
    ])
    expect(validatePayload(schema, { id: 'o1', items: {} })).toEqual(['items must be an array, got {}'])
  })
  it('lets a subscriber take fields a newer publisher added, at any depth', () => {
    expect(
      validatePayload(schema, { id: 'o1', items: [{ sku: 'A', quantity: 1, colour: 'red' }], more: 1 }, true),
    ).toEqual([])
  })
})
