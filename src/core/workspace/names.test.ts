import { describe, expect, it } from 'vitest'
import {
  checkEventType,
  checkServiceName,
  toPlural,
  toSingular,
  toPascalCase,
  toConstantCase,
} from './names.js'

describe('checkServiceName', () => {
  it.each(['payment', 'order-service', 'a', 'svc2', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(checkServiceName(name)).toBeUndefined()
  })
  it.each([
    ['', /empty/],
    ['Payment', /uppercase.*payment/],
    ['order_svc', /underscore.*order-svc/],
    ['1order', /starts with a digit/],
    ['a'.repeat(64), /64 characters/],
    ['../x', /DNS-1123/],
    ['-order', /DNS-1123/],
    ['order-', /DNS-1123/],
    ['or der', /DNS-1123/],
    ['nats', /reserved/],
    ['gateway', /reserved/],
    ['prometheus', /reserved/],
    ['grafana', /reserved/],
    ['jaeger', /reserved/],
    ['kit', /reserved/],
  ])('rejects %j', (name, why) => {
    expect(checkServiceName(name)).toMatch(why)
  })
})

describe('checkEventType', () => {
  it.each(['order.created', 'payment.v2.processed'])('accepts %s', (t) =>
    expect(checkEventType(t)).toBeUndefined(),
  )
  it.each(['order', 'Order.created', 'order.', 'order..created', 'order_created', '1.x'])('rejects %s', (t) =>
    expect(checkEventType(t)).toMatch(/lowercase\.dotted/),
  )
})

describe('case and number', () => {
  it.each([
    ['order', 'orders'],
    ['inventory', 'inventories'],
    ['address', 'addresses'],
    ['box', 'boxes'],
    ['key', 'keys'],
    ['status', 'statuses'],
  ])('plural of %s is %s and back', (one, many) => {
    expect(toPlural(one)).toBe(many)
    expect(toSingular(many)).toBe(one)
  })
  it.each(['order-items', 'payments', 'news'])(
    'keeps %s, already plural (a service named for its resource)',
    (many) => expect(toPlural(many)).toBe(many),
  )
  it('converts case', () => {
    expect(toPascalCase('order-line')).toBe('OrderLine')
    expect(toConstantCase('order-line')).toBe('ORDER_LINE')
    expect(toPascalCase('order.created')).toBe('OrderCreated')
  })
})
