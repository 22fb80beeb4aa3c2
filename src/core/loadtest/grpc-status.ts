/** gRPC status codes in a load run: their names, and the `expect:` of a scenario's call. */
/** gRPC status codes by number (grpc/doc/statuscodes.md). */
export const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const

export const GRPC_OK = 0
/** what a call still pending when the run ends is counted as: the load generator gave up on it */
export const GRPC_CANCELLED = 1
export const GRPC_UNKNOWN = 2
export const GRPC_UNAVAILABLE = 14

/** The name of a status code (`NOT_FOUND`); the number when it is none of the standard ones. */
export const grpcCodeName = (code: number): string => GRPC_CODES[code] ?? String(code)

/** `OK`, `not_found`, `5`, or a list of them as code numbers; undefined when unreadable. */
export function parseGrpcExpect(v: unknown): number[] | undefined {
  const one = (x: unknown): number | undefined => {
    if (typeof x === 'number') return Number.isInteger(x) && x >= 0 && x < GRPC_CODES.length ? x : undefined
    if (typeof x !== 'string') return undefined
    const s = x.trim()
    if (/^\d+$/.test(s)) return one(Number(s))
    const i = (GRPC_CODES as readonly string[]).indexOf(s.toUpperCase().replace(/[- ]/g, '_'))
    return i >= 0 ? i : undefined
  }
  const list = Array.isArray(v) ? v : [v]
  const out = list.map(one)
  return out.length && out.every((c) => c !== undefined) ? [...new Set(out as number[])] : undefined
}
