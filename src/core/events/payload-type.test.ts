import { describe, expect, it } from 'vitest'
import { parsePayloadType, sampleOf, tsTypeOf, zeroOf, type PayloadType } from './payload-type.js'

const type = (text: string): PayloadType => {
  const r = parsePayloadType(text)
  if (!r.ok) throw new Error(r.message)
  return r.type
}

describe('event payload types', () => {
  it('reads scalars, arrays and objects, optional at any level', () => {
    expect(parsePayloadType('string?')).toEqual({
      ok: true,
      type: { kind: 'scalar', name: 'string' },
      optional: true,
    })
    expect(tsTypeOf(type('integer[]'))).toBe('number[]')
    const items = type('{sku:string,quantity:integer,note:string?}[]')
    expect(tsTypeOf(items)).toBe('{ sku: string; quantity: number; note?: string }[]')
    expect(sampleOf(items)).toBe("[{ sku: 'x', quantity: 1 }]")
    expect(zeroOf(items)).toBe('[]')
    expect(zeroOf(type('{total:number,ok:boolean,tags:string[]}'))).toBe('{ total: 0, ok: false, tags: [] }')
    expect(sampleOf(type('{a:{b:string}}'))).toBe("{ a: { b: 'x' } }")
    expect(sampleOf(type('{a:string?}'))).toBe('{}')
  })

  it.each([
    ['text', '"text" is not a type'],
    ['string[][]', 'an array of arrays is not supported'],
    ['{sku}', '"sku" has no type'],
    ['{a:string,a:integer}', '"a" is declared twice'],
    ['{}', 'an object needs at least one field'],
    ['{a-b:string}', '"a-b" is not a field name'],
  ])('refuses %s', (text, message) => {
    const r = parsePayloadType(text)
    expect(r.ok).toBe(false)
    expect((r as { message: string }).message).toContain(message)
  })
})
