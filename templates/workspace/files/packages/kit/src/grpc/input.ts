import { Ajv, type ErrorObject } from 'ajv'
import { InvalidInputError } from '../errors.js'

// The options fastify's own validator uses for bodies, so that a gRPC request is judged as the same
// JSON would be over REST: defaults filled in, no type coercion, the first problem reported.
const ajv = new Ajv({ useDefaults: true, coerceTypes: false, allErrors: false, strict: false })

/**
 * A checker for input of one JSON schema (the one the REST route uses): it fills in nested
 * defaults and returns the input as `T`, or throws InvalidInputError naming the first bad field as a
 * JSON pointer (INVALID_ARGUMENT over gRPC).
 */
export function inputChecker<T>(schema: object): (input: unknown) => T {
  const validate = ajv.compile(schema)
  return (input) => {
    if (validate(input)) return input as T
    const e = validate.errors![0]!
    const { field, message } = describe(e)
    throw new InvalidInputError(`${field || 'request'}: ${message}`, field)
  }
}

function describe(e: ErrorObject): { field: string; message: string } {
  if (e.keyword === 'required')
    return { field: `${e.instancePath}/${String(e.params.missingProperty)}`, message: 'is required' }
  if (e.keyword === 'additionalProperties')
    return {
      field: `${e.instancePath}/${String(e.params.additionalProperty)}`,
      message: 'is not an allowed field',
    }
  return { field: e.instancePath, message: e.message ?? 'is invalid' }
}

/**
 * A decoded gRPC message as plain input: fields left unset (undefined) are dropped at any depth,
 * so that they read as absent. With `dropEmptyLists`, empty lists at the top are dropped too:
 * proto3 cannot tell an empty repeated field from an absent one, and an update means "unchanged".
 */
export function fromMessage(
  message: object,
  opts: { dropEmptyLists?: boolean } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(message)) {
    if (v === undefined) continue
    if (opts.dropEmptyLists && Array.isArray(v) && v.length === 0) continue
    out[k] = plain(v)
  }
  return out
}

const plain = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(plain)
    : v !== null && typeof v === 'object' && !(v instanceof Uint8Array)
      ? fromMessage(v)
      : v
