import { describe, expect, it } from 'vitest'
import { jsonEqual, parseJsonPath, selectJsonPath } from './json-path.js'

describe('parseJsonPath', () => {
  it.each([
    ['$', []],
    ['$.id', ['id']],
    ['$.items[0].sku', ['items', 0, 'sku']],
    ["$['x-total'].count", ['x-total', 'count']],
    ['$["a b"][12]', ['a b', 12]],
    ["$['it\\'s']", ["it's"]],
    ['$.order-id', ['order-id']],
  ])('%s', (text, steps) => expect(parseJsonPath(text)).toEqual(steps))

  it.each([
    ['id', 'it starts with $'],
    ['$.', 'a name must follow the dot at character 2'],
    ['$..id', 'a name must follow the dot'],
    ['$.items[*]', 'a bracket holds an index'],
    ['$.items[?(@.x)]', 'a bracket holds an index'],
    ['$.a b', 'expected . or [ at character 4'],
    ['$[-1]', 'a bracket holds an index'],
  ])('refuses %s', (text, why) => expect(() => parseJsonPath(text)).toThrow(why))
})

describe('selectJsonPath', () => {
  const doc = { id: 'o-1', items: [{ sku: 'A', qty: 2 }], 'x-total': { count: 0 }, nothing: null }
  it('selects one value, or undefined when there is none', () => {
    expect(selectJsonPath(doc, parseJsonPath('$.id'))).toBe('o-1')
    expect(selectJsonPath(doc, parseJsonPath('$.items[0].qty'))).toBe(2)
    expect(selectJsonPath(doc, parseJsonPath("$['x-total'].count"))).toBe(0)
    expect(selectJsonPath(doc, parseJsonPath('$.nothing'))).toBeNull()
    expect(selectJsonPath(doc, parseJsonPath('$'))).toBe(doc)
    for (const p of [
      '$.missing',
      '$.items[1].sku',
      '$.id.length',
      '$.items.sku',
      '$.toString',
      '$.items[0].constructor',
    ])
      expect(selectJsonPath(doc, parseJsonPath(p))).toBeUndefined()
  })
})

describe('jsonEqual', () => {
  it('compares JSON values by type and content, objects whatever their key order', () => {
    expect(jsonEqual({ a: [1, { b: 'x' }], c: null }, { c: null, a: [1, { b: 'x' }] })).toBe(true)
    expect(jsonEqual(2, '2')).toBe(false)
    expect(jsonEqual([1, 2], [2, 1])).toBe(false)
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false)
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false)
    expect(jsonEqual([], {})).toBe(false)
    expect(jsonEqual(null, {})).toBe(false)
    expect(jsonEqual(true, true)).toBe(true)
  })
})
