/**
 * Response chaining in scenarios: `capture:` takes values from an answer into variables that the
 * later requests of the same flow iteration use as `{{name}}`, and `check:` compares values of an
 * answer with what is expected, typed (2 is not "2"). A value comes from the JSON body by a path
 * (json-path.ts) or from a header (`header:location`). Pure: the load generator hands over the
 * answer's status, headers and body text.
 */
import { jsonEqual, parseJsonPath, selectJsonPath, type PathStep } from './json-path.js'

/** Where a captured or checked value comes from. */
export type ValueSource =
  { kind: 'json'; path: PathStep[]; text: string } | { kind: 'header'; name: string; text: string }

export interface Capture {
  name: string
  from: ValueSource
}

export interface Check {
  from: ValueSource
  /** the value expected, as the scenario wrote it (a string, number, boolean, null, list or mapping) */
  expected: unknown
}

/** What capture and check read of an answer. */
export interface AnswerView {
  /** a header's value (names in lowercase), undefined when absent */
  header(name: string): string | undefined
  /** the body as text ('' when it had none) */
  body: string
}

/** Names a variable may have: a letter or _, then letters, digits, _; none an object inherits. */
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype))

/** `$.id` or `header:location`; throws an Error saying what is wrong. */
export function parseValueSource(text: string): ValueSource {
  const header = /^header:\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/i.exec(text)
  if (header) return { kind: 'header', name: header[1]!.toLowerCase(), text }
  if (text.startsWith('header:')) throw new Error(`"${text}" names no header (header:location)`)
  return { kind: 'json', path: parseJsonPath(text), text }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A step's `capture:` mapping (variable: source). `reserved` are names a variable may not take
 * (the template placeholders). Problems are added to `problems`, each naming its place.
 */
export function parseCaptures(
  v: unknown,
  at: string,
  problems: string[],
  reserved: readonly string[],
): Capture[] {
  if (!isObj(v)) {
    problems.push(`${at}.capture: a mapping of variable names to $.json.paths or header:names`)
    return []
  }
  const out: Capture[] = []
  for (const [name, source] of Object.entries(v)) {
    if (!VARIABLE.test(name) || reserved.includes(name) || INHERITED.has(name)) {
      problems.push(
        `${at}.capture.${name}: "${name}" cannot name a variable (letters, digits and _; not ${[...reserved, 'constructor, __proto__ and the like'].join(', ')})`,
      )
      continue
    }
    try {
      out.push({ name, from: parseValueSource(String(source)) })
    } catch (e) {
      problems.push(`${at}.capture.${name}: ${(e as Error).message}`)
    }
  }
  return out
}

/** A step's `check:` mapping (source: expected value). */
export function parseChecks(v: unknown, at: string, problems: string[]): Check[] {
  if (!isObj(v)) {
    problems.push(`${at}.check: a mapping of $.json.paths or header:names to the values expected`)
    return []
  }
  const out: Check[] = []
  for (const [source, expected] of Object.entries(v)) {
    try {
      out.push({ from: parseValueSource(source), expected })
    } catch (e) {
      problems.push(`${at}.check: ${(e as Error).message}`)
    }
  }
  return out
}

/** An answer's values as capture and check read them: the body parsed once, and only if needed. */
function reader(answer: AnswerView): (from: ValueSource) => { found: boolean; value: unknown } {
  let parsed: { ok: boolean; value: unknown } | undefined
  return (from) => {
    if (from.kind === 'header') {
      const value = answer.header(from.name)
      return { found: value !== undefined, value }
    }
    if (!parsed) {
      try {
        parsed = { ok: true, value: JSON.parse(answer.body) }
      } catch {
        parsed = { ok: false, value: undefined }
      }
    }
    if (!parsed.ok) return { found: false, value: undefined }
    const value = selectJsonPath(parsed.value, from.path)
    return { found: value !== undefined, value }
  }
}

/** A captured value as the text a template inserts: strings as they are, anything else as JSON. */
const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

/**
 * The variables an answer gives, or why it gives them not (one line): a value its source does not
 * hold (no such field, a body that is not JSON, no such header).
 */
export function captureValues(
  answer: AnswerView,
  captures: readonly Capture[],
): { vars: Record<string, string> } | { problem: string } {
  const read = reader(answer)
  const vars: Record<string, string> = Object.create(null) as Record<string, string>
  for (const c of captures) {
    const { found, value } = read(c.from)
    if (!found) return { problem: `capture ${c.name}: the answer has no ${c.from.text}` }
    vars[c.name] = asText(value)
  }
  return { vars }
}

/** The checks an answer fails, one line each (empty when all pass). */
export function failedChecks(answer: AnswerView, checks: readonly Check[]): string[] {
  const read = reader(answer)
  const failed: string[] = []
  for (const c of checks) {
    const { found, value } = read(c.from)
    if (!found) failed.push(`check ${c.from.text}: the answer has none`)
    else if (!jsonEqual(value, c.expected))
      failed.push(
        `check ${c.from.text}: expected ${JSON.stringify(c.expected)}, got ${JSON.stringify(value)}`,
      )
  }
  return failed
}

/**
 * A flow step's answer read once for both: which of `checks` pass, and the variables `captures`
 * take from it, or the first capture it cannot give.
 */
export function readAnswer(
  answer: AnswerView,
  captures: readonly Capture[],
  checks: readonly Check[],
): { passed: boolean[] } & ({ vars: Record<string, string> } | { problem: string }) {
  const read = reader(answer)
  const passed = checks.map((c) => {
    const { found, value } = read(c.from)
    return found && jsonEqual(value, c.expected)
  })
  const vars: Record<string, string> = Object.create(null) as Record<string, string>
  for (const c of captures) {
    const { found, value } = read(c.from)
    if (!found) return { passed, problem: `capture ${c.name}: the answer has no ${c.from.text}` }
    vars[c.name] = asText(value)
  }
  return { passed, vars }
}
