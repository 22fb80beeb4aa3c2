import { describe, expect, it } from 'vitest'
import { PerRoute } from './per-route.js'

describe('PerRoute', () => {
  it('makes one value per route, method and status code, and makes them again after clear', () => {
    const made: string[] = []
    const values = new PerRoute((route, method, statusCode) => {
      made.push(`${method} ${route} ${statusCode}`)
      return { route, method, statusCode }
    })
    const first = values.get('/orders/:id', 'GET', 200)
    expect(values.get('/orders/:id', 'GET', 200)).toBe(first)
    expect(values.get('/orders/:id', 'GET', 404)).not.toBe(first)
    expect(values.get('/orders/:id', 'PATCH', 200)).toEqual({
      route: '/orders/:id',
      method: 'PATCH',
      statusCode: 200,
    })
    expect(values.get('/orders', 'GET', 200)).not.toBe(first)
    expect(made).toEqual([
      'GET /orders/:id 200',
      'GET /orders/:id 404',
      'PATCH /orders/:id 200',
      'GET /orders 200',
    ])
    values.clear()
    expect(values.get('/orders/:id', 'GET', 200)).not.toBe(first)
    expect(made).toHaveLength(5)
  })
})
