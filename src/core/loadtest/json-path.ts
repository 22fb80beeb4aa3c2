/**
 * The JSON paths a scenario's `capture:` and `check:` use: `$`, then `.name`, `['any name']` and
 * `[index]` steps (`$.items[0].sku`, `$['x-total']`). Deliberately this subset and no more: no
 * wildcards, filters or script expressions, so a path selects at most one value, which is what a
 * captured variable or a checked value needs, and nothing in a scenario is ever evaluated. Written
 * here rather than taken from a JSONPath package because those implement the whole language,
 * filter scripts included, for a dozen lines of use.
 */

export type PathStep = string | number

/** `$.items[0].sku` as steps (`['items', 0, 'sku']`); throws an Error saying what is wrong. */
export function parseJsonPath(text: string): PathStep[] {
  if (!text.startsWith('$'))
    throw new Error(`"${text}" is not a JSON path: it starts with $ ($.id, $.items[0].sku)`)
  const steps: PathStep[] = []
  let i = 1
  const fail = (why: string): never => {
    throw new Error(`"${text}" is not a JSON path: ${why} at character ${i + 1}`)
  }
  while (i < text.length) {
    if (text[i] === '.') {
      const m = /^[A-Za-z_$][\w$-]*/.exec(text.slice(i + 1))
      if (!m) fail('a name must follow the dot')
      steps.push(m![0])
      i += 1 + m![0].length
    } else if (text[i] === '[') {
      const index = /^\[(\d+)\]/.exec(text.slice(i))
      const quoted = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(text.slice(i))
      if (index) {
        steps.push(Number(index[1]))
        i += index[0].length
      } else if (quoted) {
        steps.push((quoted[1] ?? quoted[2]!).replace(/\\(.)/g, '$1'))
        i += quoted[0].length
      } else fail("a bracket holds an index ([0]) or a quoted name (['a b'])")
    } else fail('expected . or [')
  }
  return steps
}

/** The value at `steps` in `value`, or undefined when there is none. */
export function selectJsonPath(value: unknown, steps: readonly PathStep[]): unknown {
  let v = value
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(v) || step >= v.length) return undefined
      v = v[step]
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, step)) return undefined
      v = (v as Record<string, unknown>)[step]
    }
  }
  return v
}

/**
 * Whether two JSON values are equal: the same type (2 is not "2"), arrays item by item, objects
 * key by key whatever their order. Written here rather than node:util's isDeepStrictEqual so that
 * the dashboard's page, which type-checks the load report without Node's types, can import it.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bs = b as unknown[]
    return a.length === bs.length && a.every((v, i) => jsonEqual(v, bs[i]))
  }
  const ak = Object.keys(a)
  const bo = b as Record<string, unknown>
  if (ak.length !== Object.keys(bo).length) return false
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual((a as Record<string, unknown>)[k], bo[k]))
}
