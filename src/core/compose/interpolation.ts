/**
 * What compose substitutes into the files it is given: each `${NAME}` (with or without a default,
 * `${NAME:-0}`, or a required message, `${NAME:?why}`) and `$NAME` takes the value of NAME in the
 * environment compose runs in, else in the project's `.env`. `$$` is a literal `$`. msvc.yaml may
 * hand values through this way (the example shop's `PAYMENT_FAILURE_RATE: ${PAYMENT_FAILURE_RATE:-0}`),
 * so the configuration `msvc up` applies is the files *and* these values: a change of one must run
 * compose again, although no file changed.
 */

const REFERENCE = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))/g

/** The names the texts refer to, sorted, once each. */
export function interpolatedNames(texts: readonly string[]): string[] {
  const names = new Set<string>()
  for (const text of texts)
    for (const m of text.matchAll(REFERENCE)) {
      const name = m[2] ?? m[3]
      if (name) names.add(name)
    }
  return [...names].sort()
}

/**
 * `NAME=value` lines of the values compose would substitute for the names the texts refer to
 * (`env` first, then `dotenv`; an unset name as `NAME` alone), sorted: a fingerprint of them.
 */
export function interpolatedValues(
  texts: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  dotenv: ReadonlyMap<string, string>,
): string {
  return interpolatedNames(texts)
    .map((name) => {
      const value = env[name] ?? dotenv.get(name)
      return value === undefined ? name : `${name}=${value}`
    })
    .join('\n')
}
