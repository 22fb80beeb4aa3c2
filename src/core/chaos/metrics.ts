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
  value: number
}

/** `== 1`, `< 0.5`, `>=10` or a bare number (`1` means `== 1`). */
export function parseComparison(text: string | number): Comparison | undefined {
  if (typeof text === 'number') return { op: '==', value: text }
  const m = /^\s*(<=|>=|==|!=|<|>)?\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/.exec(text)
  return m ? { op: (m[1] ?? '==') as CompareOp, value: Number(m[2]) } : undefined
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

export const formatComparison = (c: Comparison) => `${c.op} ${c.value}`
