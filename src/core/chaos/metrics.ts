/** Prometheus text exposition, as much as a probe needs: series by name and labels, summed. */

export interface SeriesSelector {
  name: string
  labels: Record<string, string>
}

/** `circuit_breaker_state{target="payment"}` -> selector; undefined when it is not one. */
export function parseSeriesSelector(text: string): SeriesSelector | undefined {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/.exec(text)
  if (!m) return undefined
  const labels = parseLabels(m[2] ?? '')
  return labels ? { name: m[1]!, labels } : undefined
}

function parseLabels(body: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {}
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y
  let i = 0
  while (i < body.length) {
    re.lastIndex = i
    const m = re.exec(body)
    if (!m) return body.slice(i).trim() === '' ? labels : undefined
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    i = re.lastIndex
  }
  return labels
}

/**
 * The sum of the samples matching a selector (every selector label equal; other labels free), and
 * how many matched. A counter split by route sums to the total; a gauge per target has one series.
 */
export function selectSeries(exposition: string, sel: SeriesSelector): { value: number; matched: number } {
  let value = 0
  let matched = 0
  for (const raw of exposition.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m || m[1] !== sel.name) continue
    const labels = parseLabels(m[2] ?? '') ?? {}
    if (!Object.entries(sel.labels).every(([k, v]) => labels[k] === v)) continue
    const v = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3])
    if (Number.isNaN(v)) continue
    value += v
    matched++
  }
  return { value, matched }
}

export type CompareOp = '<' | '<=' | '>' | '>=' | '==' | '!='

export interface Comparison {
  op: CompareOp
  /** the number compared with, or the constant part of an expression naming other probes */
  value: number
  /** other probes' values added (+1) or taken away (-1): `== @captured - @refunded` */
  refs?: { sign: 1 | -1; name: string }[]
  /** as written, when it names other probes */
  text?: string
}

/** How a comparison names another probe's value: `@` and the probe's name. */
export const PROBE_REF = /^@([A-Za-z_][A-Za-z0-9_-]*)$/

/**
 * `== 1`, `< 0.5`, `>=10`, a bare number (`1` means `== 1`), or an expression of numbers and other
 * probes' values: `== @captured`, `== @captured - @refunded + 1` (spaces around + and -).
 */
export function parseComparison(text: string | number): Comparison | undefined {
  if (typeof text === 'number') return { op: '==', value: text }
  const m = /^\s*(<=|>=|==|!=|<|>)?\s*(\S.*?)\s*$/.exec(text)
  if (!m) return undefined
  // + and - between terms stand between spaces: a probe's name may hold a -, and so may 1e-3
  const tokens = m[2]!.split(/\s+([+-])\s+/)
  let value = 0
  const refs: { sign: 1 | -1; name: string }[] = []
  for (let i = 0; i < tokens.length; i += 2) {
    const sign = i === 0 || tokens[i - 1] === '+' ? 1 : -1
    const term = tokens[i]!
    const ref = PROBE_REF.exec(term)
    if (ref) refs.push({ sign, name: ref[1]! })
    else if (/^-?\d+(?:\.\d+)?(?:e-?\d+)?$/.test(term)) value += sign * Number(term)
    else return undefined
  }
  const op = (m[1] ?? '==') as CompareOp
  return refs.length ? { op, value, refs, text: text.trim() } : { op, value }
}

/**
 * What `c` compares with once the probes it names have their values (`values`, by name): the
 * number, or the first name without a value.
 */
export function resolveComparison(
  c: Comparison,
  values: ReadonlyMap<string, number>,
): { ok: true; comparison: Comparison } | { ok: false; missing: string } {
  let value = c.value
  for (const r of c.refs ?? []) {
    const v = values.get(r.name)
    if (v === undefined) return { ok: false, missing: r.name }
    value += r.sign * v
  }
  return { ok: true, comparison: { op: c.op, value } }
}

export function compare(v: number, c: Comparison): boolean {
  switch (c.op) {
    case '<':
      return v < c.value
    case '<=':
      return v <= c.value
    case '>':
      return v > c.value
    case '>=':
      return v >= c.value
    case '==':
      return v === c.value
    case '!=':
      return v !== c.value
  }
}

/** `== 3`, or `== 3 (== @captured)` when the comparison named other probes. */
export const formatComparison = (resolved: Comparison, as?: Comparison) =>
  `${resolved.op} ${resolved.value}${as?.text ? ` (${as.text})` : ''}`
