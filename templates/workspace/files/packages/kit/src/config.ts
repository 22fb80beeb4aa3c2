/**
 * Configuration from the environment, validated once at start (12-factor).
 * A bad value throws ConfigError naming the variable, the value and what was expected.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Field<T> = {
  /** parses the raw string; throws a message fragment ("an integer from 1 to 65535") when invalid */
  parse: (raw: string) => T
  expected: string
  default?: T
  required?: boolean
}

export type ConfigSpec = Record<string, Field<unknown>>
export type ConfigOf<S extends ConfigSpec> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never }

function fail(expected: string): never {
  throw new Error(expected)
}

export const env = {
  port(defaultValue?: number): Field<number> {
    const expected = 'an integer from 1 to 65535'
    return {
      expected,
      ...(defaultValue !== undefined ? { default: defaultValue } : {}),
      parse: (raw) => {
        const n = Number(raw)
        return /^\d+$/.test(raw) && n >= 1 && n <= 65535 ? n : fail(expected)
      },
    }
  },
  int(defaultValue?: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Field<number> {
    const expected = `an integer from ${min} to ${max}`
    return {
      expected,
      ...(defaultValue !== undefined ? { default: defaultValue } : {}),
      parse: (raw) => {
        const n = Number(raw)
        return /^-?\d+$/.test(raw) && n >= min && n <= max ? n : fail(expected)
      },
    }
  },
  string(defaultValue?: string): Field<string> {
    return {
      expected: 'a non-empty string',
      ...(defaultValue !== undefined ? { default: defaultValue } : {}),
      parse: (raw) => (raw.length > 0 ? raw : fail('a non-empty string')),
    }
  },
  url(defaultValue?: string): Field<string> {
    const expected = 'a URL such as http://host:port'
    return {
      expected,
      ...(defaultValue !== undefined ? { default: defaultValue } : {}),
      parse: (raw) => {
        try {
          new URL(raw)
          return raw
        } catch {
          return fail(expected)
        }
      },
    }
  },
  oneOf<T extends string>(values: readonly T[], defaultValue?: T): Field<T> {
    const expected = `one of ${values.join(', ')}`
    return {
      expected,
      ...(defaultValue !== undefined ? { default: defaultValue } : {}),
      parse: (raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : fail(expected)),
    }
  },
  bool(defaultValue?: boolean): Field<boolean> {
    const expected = 'true or false'
    return {
      expected,
      ...(defaultValue !== undefined ? { default: defaultValue } : {}),
      parse: (raw) =>
        ['true', '1', 'yes'].includes(raw)
          ? true
          : ['false', '0', 'no'].includes(raw)
            ? false
            : fail(expected),
    }
  },
  /** `500ms`, `2s`, `1m` or plain milliseconds, as milliseconds */
  duration(defaultMs?: number): Field<number> {
    const expected = 'a duration such as 500ms, 2s or 1m'
    return {
      expected,
      ...(defaultMs !== undefined ? { default: defaultMs } : {}),
      parse: (raw) => parseDuration(raw) ?? fail(expected),
    }
  },
}

export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim())
  if (!m) return undefined
  const n = Number(m[1])
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n
}

/** Reads every field from `source` (process.env by default); throws ConfigError on the first bad one. */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  source: Record<string, string | undefined> = process.env,
): ConfigOf<S> {
  const out: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(spec)) {
    const raw = source[name]
    if (raw === undefined || raw === '') {
      if (field.default !== undefined) out[name] = field.default
      else throw new ConfigError(`${name} is required: set it to ${field.expected}`)
      continue
    }
    try {
      out[name] = field.parse(raw)
    } catch {
      throw new ConfigError(`${name} must be ${field.expected}, got ${JSON.stringify(raw)}`)
    }
  }
  return out as ConfigOf<S>
}
