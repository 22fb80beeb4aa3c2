/** Requests of a load run: templated paths, headers and bodies, and their HTTP/1.1 bytes. */

/**
 * What a placeholder may use: the request's sequence number, a random source in [0, 1), and in a
 * flow the variables earlier steps captured (capture.ts).
 */
export interface TemplateContext {
  seq: number
  random: () => number
  nowMs: number
  vars?: Readonly<Record<string, string>>
}

type Part = string | ((c: TemplateContext) => string)

export interface Template {
  /** no placeholders: the text is the same for every request */
  isStatic: boolean
  render(c: TemplateContext): string
}

const hex = (c: TemplateContext, n: number) => {
  let s = ''
  for (let i = 0; i < n; i++) s += Math.floor(c.random() * 16).toString(16)
  return s
}

/** The placeholders a template may hold, by name. */
const PLACEHOLDERS: Record<string, (args: number[]) => ((c: TemplateContext) => string) | undefined> = {
  seq: (a) => (a.length ? undefined : (c) => String(c.seq)),
  now: (a) => (a.length ? undefined : (c) => String(Math.round(c.nowMs))),
  uuid: (a) =>
    a.length
      ? undefined
      : (c) =>
          `${hex(c, 8)}-${hex(c, 4)}-4${hex(c, 3)}-${'89ab'[Math.floor(c.random() * 4)]}${hex(c, 3)}-${hex(c, 12)}`,
  randomInt: (a) => {
    if (a.length !== 2 || !a.every(Number.isInteger) || a[0]! > a[1]!) return undefined
    const [lo, hi] = a as [number, number]
    return (c) => String(lo + Math.floor(c.random() * (hi - lo + 1)))
  },
}

export const PLACEHOLDER_HELP = '{{seq}}, {{uuid}}, {{now}}, {{randomInt 1 100}}'

/** The placeholders' names: a captured variable may not take one. */
export const PLACEHOLDER_NAMES = Object.keys(PLACEHOLDERS)

/**
 * `/orders/{{randomInt 1 100}}` as a template; throws an Error naming a bad placeholder. `vars`
 * are the variables the template may use as `{{name}}` (those earlier steps of its flow capture);
 * `encode` makes a captured value safe where it goes (percent-encoded in a path, refused in a
 * header when it holds a line break, escaped in a JSON string); it may throw.
 */
export function compileTemplate(
  text: string,
  vars: ReadonlySet<string> = new Set(),
  encode: (value: string) => string = (v) => v,
): Template {
  const parts: Part[] = []
  let last = 0
  for (const m of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (m.index > last) parts.push(text.slice(last, m.index))
    const [name, ...rest] = m[1]!.split(/\s+/)
    const args = rest.map(Number)
    const make = name !== undefined && Object.hasOwn(PLACEHOLDERS, name) ? PLACEHOLDERS[name] : undefined
    const variable = name !== undefined && !rest.length && vars.has(name) ? name : undefined
    const fn = variable
      ? (c: TemplateContext) => encode(c.vars?.[variable] ?? '')
      : make && !args.some(Number.isNaN)
        ? make(args)
        : undefined
    if (!fn)
      throw new Error(
        `unknown placeholder "${m[0]}" (known: ${PLACEHOLDER_HELP}${vars.size ? `, and the variables captured before it: ${[...vars].join(', ')}` : ''})`,
      )
    parts.push(fn)
    last = m.index + m[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  if (parts.every((p) => typeof p === 'string')) return { isStatic: true, render: () => text }
  return {
    isStatic: false,
    render: (c) => parts.map((p) => (typeof p === 'string' ? p : p(c))).join(''),
  }
}

/** Inclusive status ranges; `[200, 299]` is 2xx. */
export type StatusRange = [number, number]

/** Expected statuses by default: anything below 400 (k6's default for a failed request). */
export const DEFAULT_EXPECT: StatusRange[] = [[100, 399]]

/** `200`, `'2xx'`, `[200, 201]`, `'200-204'` as ranges; undefined when unreadable. */
export function parseExpect(v: unknown): StatusRange[] | undefined {
  const one = (x: unknown): StatusRange | undefined => {
    if (typeof x === 'number' && Number.isInteger(x) && x >= 100 && x <= 599) return [x, x]
    if (typeof x !== 'string') return undefined
    const s = x.trim()
    if (/^[1-5]xx$/i.test(s)) return [Number(s[0]) * 100, Number(s[0]) * 100 + 99]
    const r = /^(\d{3})\s*-\s*(\d{3})$/.exec(s)
    if (r && Number(r[1]) <= Number(r[2])) return [Number(r[1]), Number(r[2])]
    if (/^\d{3}$/.test(s)) return one(Number(s))
    return undefined
  }
  const list = Array.isArray(v) ? v : [v]
  const out = list.map(one)
  return out.length && out.every(Boolean) ? (out as StatusRange[]) : undefined
}

export const isExpected = (status: number, expect: StatusRange[]): boolean =>
  expect.some(([lo, hi]) => status >= lo && status <= hi)

/** One kind of request in a run. */
export interface RequestSpec {
  name: string
  weight: number
  method: string
  path: string
  headers: Record<string, string>
  body?: string
  expect: StatusRange[]
}

/** A request spec ready to send: static ones are encoded once, templated ones per request. */
export interface CompiledRequest {
  spec: RequestSpec
  /** the same bytes every time, when nothing in it is templated */
  bytes?: Uint8Array
  encode(c: TemplateContext): Uint8Array
}

const enc = new TextEncoder()

/** A request a captured value would make unsafe (a line break in a header): it is not sent. */
export class RefusedRequestError extends Error {
  override name = 'RefusedRequestError'
}

/**
 * How a captured value is made safe where a template puts it: percent-encoded in the path (so it
 * stays one path segment), refused in a header when it holds CR or LF (header injection: nothing
 * could encode it), escaped in a JSON body (so it stays inside its string). `field` names the
 * place in refusals (`headers.x-order`).
 */
export function encoderFor(
  where: 'path' | 'header' | 'json' | 'text',
  field: string,
): (value: string) => string {
  if (where === 'path')
    return (v) => {
      try {
        return encodeURIComponent(v)
      } catch {
        throw new RefusedRequestError(`${field}: a captured value is not valid Unicode`)
      }
    }
  if (where === 'header')
    return (v) => {
      if (/[\r\n]/.test(v))
        throw new RefusedRequestError(`${field}: a captured value holds a line break (CR or LF)`)
      return v
    }
  if (where === 'json') return (v) => JSON.stringify(v).slice(1, -1)
  return (v) => v
}

/**
 * Compiles a spec for `host` (the Host header); throws on a bad placeholder. `vars` are the
 * variables its templates may use (a flow step's, captured by the steps before it); rendering a
 * request whose captured value cannot be made safe throws a RefusedRequestError.
 */
export function compileRequest(
  spec: RequestSpec,
  host: string,
  vars: ReadonlySet<string> = new Set(),
): CompiledRequest {
  const path = compileTemplate(spec.path, vars, encoderFor('path', 'path'))
  const json = Object.entries(spec.headers).some(
    ([k, v]) => k.toLowerCase() === 'content-type' && /json/i.test(v),
  )
  const body =
    spec.body !== undefined
      ? compileTemplate(spec.body, vars, encoderFor(json ? 'json' : 'text', 'body'))
      : undefined
  const headers = Object.entries(spec.headers).map(
    ([k, v]) => [k, compileTemplate(v, vars, encoderFor('header', `headers.${k}`))] as const,
  )
  const hasHeader = (n: string) => headers.some(([k]) => k.toLowerCase() === n)
  const encode = (c: TemplateContext): Uint8Array => {
    const b = body?.render(c)
    let head = `${spec.method} ${path.render(c)} HTTP/1.1\r\n`
    if (!hasHeader('host')) head += `host: ${host}\r\n`
    for (const [k, v] of headers) head += `${k}: ${v.render(c)}\r\n`
    if (b !== undefined) {
      const bodyBytes = enc.encode(b)
      head += `content-length: ${bodyBytes.length}\r\n\r\n`
      const headBytes = enc.encode(head)
      const out = new Uint8Array(headBytes.length + bodyBytes.length)
      out.set(headBytes)
      out.set(bodyBytes, headBytes.length)
      return out
    }
    return enc.encode(head + '\r\n')
  }
  const isStatic = path.isStatic && (body?.isStatic ?? true) && headers.every(([, v]) => v.isStatic)
  const fixed: TemplateContext = { seq: 0, random: () => 0, nowMs: 0 }
  return { spec, encode, ...(isStatic ? { bytes: encode(fixed) } : {}) }
}
