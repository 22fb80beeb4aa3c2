import { describe, expect, it } from 'vitest'
import { compileRequest, compileTemplate, isExpected, parseExpect, type RequestSpec } from './request.js'

const dec = (b: Uint8Array) => new TextDecoder().decode(b)
const ctx = (seq: number, r = 0.5) => ({ seq, random: () => r, nowMs: 1700000000000 })

describe('compileTemplate', () => {
  it('inserts the variables an earlier step of the flow captured, and only those', () => {
    const t = compileTemplate('/orders/{{id}}/items/{{ seq }}', new Set(['id']))
    expect(t.isStatic).toBe(false)
    expect(t.render({ seq: 7, random: () => 0, nowMs: 0, vars: { id: 'o-1' } })).toBe('/orders/o-1/items/7')
    expect(() => compileTemplate('/orders/{{id}}')).toThrow('unknown placeholder "{{id}}"')
    expect(() => compileTemplate('/orders/{{idx}}', new Set(['id']))).toThrow(
      'and the variables captured before it: id',
    )
    const path = compileTemplate('/orders/{{id}}', new Set(['id']), encodeURIComponent)
    expect(path.render({ seq: 0, random: () => 0, nowMs: 0, vars: { id: 'a b/\r\nx' } })).toBe(
      '/orders/a%20b%2F%0D%0Ax',
    )
  })

  it('knows no placeholder an object inherits', () => {
    for (const name of ['constructor', 'valueOf', '__proto__', 'toString'])
      expect(() => compileTemplate(`/{{${name}}}`)).toThrow(`unknown placeholder "{{${name}}}"`)
  })

  it('fills placeholders per request', () => {
    const t = compileTemplate('/orders/{{ randomInt 1 10 }}?n={{seq}}&t={{now}}')
    expect(t.isStatic).toBe(false)
    expect(t.render(ctx(7, 0.99))).toBe('/orders/10?n=7&t=1700000000000')
    expect(t.render(ctx(8, 0))).toBe('/orders/1?n=8&t=1700000000000')
    expect(compileTemplate('{{uuid}}').render(ctx(0, 0.5))).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
  })

  it('text without placeholders is static', () => expect(compileTemplate('/health').isStatic).toBe(true))

  it.each(['{{nope}}', '{{randomInt 5 1}}', '{{randomInt 1}}', '{{seq 3}}'])('rejects %s', (t) =>
    expect(() => compileTemplate(t)).toThrow(/unknown placeholder/),
  )
})

describe('parseExpect', () => {
  it.each([
    [200, [[200, 200]]],
    ['2xx', [[200, 299]]],
    [
      [200, '201-204'],
      [
        [200, 200],
        [201, 204],
      ],
    ],
  ])('%j', (v, want) => expect(parseExpect(v)).toEqual(want))
  it.each([99, 'abc', '3xxx', [], '204-200'])('rejects %j', (v) => expect(parseExpect(v)).toBeUndefined())
  it('matches', () => {
    expect(isExpected(201, parseExpect('2xx')!)).toBe(true)
    expect(isExpected(500, parseExpect('2xx')!)).toBe(false)
  })
})

describe('compileRequest', () => {
  const get: RequestSpec = {
    name: 'list',
    weight: 1,
    method: 'GET',
    path: '/orders?limit=20',
    headers: {},
    expect: [[200, 200]],
  }

  it('encodes a static request once, with host', () => {
    const c = compileRequest(get, '127.0.0.1:3001')
    expect(dec(c.bytes!)).toBe('GET /orders?limit=20 HTTP/1.1\r\nhost: 127.0.0.1:3001\r\n\r\n')
  })

  it('encodes a templated body with its byte length', () => {
    const c = compileRequest(
      {
        ...get,
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"ü {{seq}}"}',
      },
      'h',
    )
    expect(c.bytes).toBeUndefined()
    expect(dec(c.encode(ctx(12)))).toBe(
      'POST /orders HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{"name":"ü 12"}',
    )
  })
})
