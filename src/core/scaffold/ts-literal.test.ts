import { describe, expect, it } from 'vitest'
import { expanded, layoutImports, raw, toTs } from './ts-literal.js'

describe('toTs: values as the workspace prettier writes them', () => {
  it('keeps what fits on one line, single-quoted', () => {
    expect(toTs({ type: 'string', enum: ['a', 'b'], n: 1, ok: true })).toBe(
      "{ type: 'string', enum: ['a', 'b'], n: 1, ok: true }",
    )
    expect(toTs({ 'content-type': "it's" })).toBe(`{ 'content-type': "it's" }`)
    expect(toTs(raw('A.b'))).toBe('A.b')
  })

  it('breaks what does not fit, one entry a line, with trailing commas', () => {
    const long = { first: 'x'.repeat(50), second: 'y'.repeat(50) }
    expect(toTs(long)).toBe(`{\n  first: '${'x'.repeat(50)}',\n  second: '${'y'.repeat(50)}',\n}`)
    expect(toTs(['x'.repeat(60), 'y'.repeat(60)], 2)).toBe(
      `[\n    '${'x'.repeat(60)}',\n    '${'y'.repeat(60)}',\n  ]`,
    )
  })

  it('counts what comes before and after on the line', () => {
    const v = { a: 'x'.repeat(90) }
    expect(toTs(v, 0, 0, 0)).not.toContain('\n')
    expect(toTs(v, 0, 20, 0)).toContain('\n')
  })

  it('puts a string too long for its key on a line of its own, under the key', () => {
    const pattern = 'p'.repeat(100)
    expect(toTs({ a: 1, pattern }, 6)).toBe(
      `{\n        a: 1,\n        pattern:\n          '${pattern}',\n      }`,
    )
  })

  it('writes an expanded object one key a line even when it would fit', () => {
    expect(toTs(expanded({ a: 1 }))).toBe('{\n  a: 1,\n}')
  })
})

describe('layoutImports', () => {
  it('puts an import on one line when it fits, else one name a line', () => {
    expect(layoutImports("import {\n  a,\n  type B,\n} from './x.js'")).toBe(
      "import { a, type B } from './x.js'",
    )
    const names = Array.from({ length: 12 }, (_, i) => `SomethingLong${i}`)
    const out = layoutImports(`import type { ${names.join(', ')} } from './x.js'`)
    expect(out.split('\n')).toEqual(['import type {', ...names.map((n) => `  ${n},`), "} from './x.js'"])
  })

  it('leaves an import with a comment inside as it is', () => {
    const text = "import {\n  a, // why\n} from './x.js'"
    expect(layoutImports(text)).toBe(text)
  })
})
