import type { ErrorObject } from 'ajv'
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'

/**
 * Reading a YAML file that a schema then checks (msvc.yaml, chaos experiments), with every problem
 * located at its line and column: the syntax errors, the schema's errors and the file's own rules.
 */

/** One thing wrong with a YAML file, located in it. */
export interface Problem {
  line: number
  col: number
  /** dotted path of the offending field, e.g. services.payment.ports.http */
  field: string
  message: string
  hint?: string
}

/** A field's place in the document: map keys and sequence indexes. */
export type YamlPath = (string | number)[]

/** Where the node at `path` (or its key, when `key`) starts; the nearest found ancestor if it is missing. */
export type Locate = (path: YamlPath, key?: boolean) => { line: number; col: number }

export type ReadYaml =
  { ok: true; doc: Document; data: unknown; at: Locate } | { ok: false; problems: Problem[] }

/** Parses YAML text (duplicate keys are errors); a syntax error is a problem at its position. */
export function readYaml(text: string): ReadYaml {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0)
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        ...lineCounter.linePos(e.pos[0]),
        field: '',
        message: `not valid YAML: ${e.message.split('\n')[0] ?? e.message}`,
        hint: 'check indentation and quoting near that line',
      })),
    }
  const at: Locate = (path, key = false) => lineCounter.linePos(findNode(doc, path, key)?.range?.[0] ?? 0)
  return { ok: true, doc, data: doc.toJS(), at }
}

/** The node at `path` (or its key when `key`); the deepest one found when the path goes on. */
function findNode(doc: Document, path: YamlPath, key: boolean): Node | undefined {
  let node: unknown = doc.contents
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === seg)
      if (!pair) return node as Node
      if (key && i === path.length - 1) return pair.key as Node
      node = pair.value ?? pair.key
    } else if (isSeq(node) && typeof seg === 'number') node = node.items[seg] ?? node
    else return node as Node | undefined
  }
  return node as Node | undefined
}

/** A schema error's instancePath as a path: JSON-pointer segments unescaped, indexes as numbers. */
export function errorPath(e: ErrorObject): YamlPath {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replaceAll('~1', '/').replaceAll('~0', '~')))
}

/**
 * A schema error phrased the way every file of msvc's phrases it: an unknown field at that field's
 * key, a missing one at its parent's key, anything else with the schema's own words. `root` names
 * the document when the error is about the whole of it.
 */
export function schemaProblem(e: ErrorObject, at: Locate, root: string): Problem {
  const path = errorPath(e)
  const field = path.join('.')
  const where = field || root
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(e.params.additionalProperty)
      return {
        ...at([...path, extra], true),
        field: [...path, extra].join('.'),
        message: `unknown field "${extra}" in ${where}`,
      }
    }
    case 'required':
      return {
        ...at(path, true),
        field,
        message: `${where} is missing "${String(e.params.missingProperty)}"`,
      }
    default:
      return { ...at(path), field, message: `${where} ${e.message ?? 'is invalid'}` }
  }
}

/** The problems once each: several schema branches can report the same thing at the same place. */
export function dedupeProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const k = `${p.line}:${p.col}:${p.message}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
