/**
 * JavaScript values as TypeScript source, laid out the way the workspace's prettier lays them out
 * (print width 110, single quotes, trailing commas, no semicolons): an object or array on one line
 * when that line fits, else one entry a line. Generated files then pass `prettier --check` as
 * written, without msvc running prettier.
 */

/** The workspace's prettier printWidth (templates/workspace/files/_prettierrc.json). */
export const PRINT_WIDTH = 110

/** Source that is written as it is (an expression such as `ORDER_FIELDS.sku`). */
export class Raw {
  constructor(readonly code: string) {}
}
export const raw = (code: string) => new Raw(code)

/** An object whose keys are written one a line whatever its width (prettier keeps it so). */
export class Expanded {
  constructor(readonly value: Record<string, unknown>) {}
}
export const expanded = (value: Record<string, unknown>) => new Expanded(value)

export const toPropertyKey = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : toJsString(name))

/** `s` as a single-quoted string literal, the quotes the workspace's prettier wants. */
export function toJsString(s: string): string {
  if (s.includes("'") && !s.includes('"')) return JSON.stringify(s)
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`
}

/**
 * `value` as source that starts after `lead` characters on its first line, at indentation `indent`,
 * with `trail` characters after it on its last line.
 */
export function toTs(value: unknown, indent = 0, lead = 0, trail = 0): string {
  const flat = inline(value)
  if (flat !== undefined && !(value instanceof Expanded) && lead + flat.length + trail <= PRINT_WIDTH)
    return flat
  const pad = ' '.repeat(indent + 2)
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    const items = value.map((v) => `${pad}${toTs(v, indent + 2, indent + 2, 1)},\n`)
    return `[\n${items.join('')}${' '.repeat(indent)}]`
  }
  const obj = value instanceof Expanded ? value.value : value
  if (obj !== null && typeof obj === 'object' && !(obj instanceof Raw)) {
    const entries = Object.entries(obj as Record<string, unknown>).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return '{}'
    const lines = entries.map(([k, v]) => {
      const key = `${toPropertyKey(k)}: `
      // a string too long for its key's line goes on a line of its own, as prettier puts it
      if (typeof v === 'string' && indent + 2 + key.length + toJsString(v).length + 1 > PRINT_WIDTH)
        return `${pad}${key.trimEnd()}\n${pad}  ${toJsString(v)},\n`
      return `${pad}${key}${toTs(v, indent + 2, indent + 2 + key.length, 1)},\n`
    })
    return `{\n${lines.join('')}${' '.repeat(indent)}}`
  }
  return flat ?? String(value)
}

/** The one-line form, or undefined when the value must span lines (an Expanded object inside). */
function inline(value: unknown): string | undefined {
  if (value instanceof Raw) return value.code
  if (value instanceof Expanded) {
    const inner = inline(value.value)
    return inner
  }
  if (typeof value === 'string') return toJsString(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return JSON.stringify(value)
  if (Array.isArray(value)) {
    const parts = value.map(inline)
    if (parts.some((p) => p === undefined) || value.some((v) => v instanceof Expanded)) return undefined
    return `[${parts.join(', ')}]`
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return '{}'
    const parts: string[] = []
    for (const [k, v] of entries) {
      if (v instanceof Expanded) return undefined
      const p = inline(v)
      if (p === undefined) return undefined
      parts.push(`${toPropertyKey(k)}: ${p}`)
    }
    return `{ ${parts.join(', ')} }`
  }
  return undefined
}

/**
 * Every `import { a, b } from 'x'` of TypeScript source laid out as prettier lays it out: on one
 * line when it fits the print width, else one name a line. Templates write imports either way;
 * how long the names are (they come from the service's) decides. An import with a comment inside
 * is left as it is.
 */
export function layoutImports(source: string): string {
  return source.replace(
    /^import (type )?\{([^}]*)\} from ('[^'\n]+')$/gm,
    (whole, type: string | undefined, names: string, from: string) => {
      if (names.includes('//')) return whole
      const list = names
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
      const head = `import ${type ?? ''}`
      const inline = `${head}{ ${list.join(', ')} } from ${from}`
      if (inline.length <= PRINT_WIDTH) return inline
      return `${head}{\n${list.map((n) => `  ${n},\n`).join('')}} from ${from}`
    },
  )
}

/** The value with its layout marks (Expanded) removed: plain data, as the source would evaluate to. */
export function unwrap(v: unknown): unknown {
  if (v instanceof Expanded) return unwrap(v.value)
  if (Array.isArray(v)) return v.map(unwrap)
  if (v instanceof Raw) return v
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]))
  return v
}
