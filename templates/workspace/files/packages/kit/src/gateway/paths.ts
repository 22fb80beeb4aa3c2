// Request paths: refused when they could climb out of a route's prefix, rewritten for the upstream.

/**
 * Why a request path (as sent, before its query) is refused, or undefined when it is fine. An
 * upstream or a server behind it may decode and normalize the path again, so these are refused:
 * dot segments (`..`, `.`, `%2e%2e`, `%2E.`), slashes or backslashes written in percent-encoding
 * (`a%2f..%2fb` is `a/../b` to some servers), any backslash (a separator on Windows and to some
 * URL parsers), control characters, and percent-encoding that does not decode.
 */
export function unsafePathReason(path: string): string | undefined {
  if (path.includes('\\')) return 'the path has a backslash'
  for (const segment of path.split('/')) {
    if (!segment.includes('%') && segment !== '.' && segment !== '..') continue
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return 'the path has a malformed percent-encoding'
    }
    if (decoded === '.' || decoded === '..') return 'the path has a dot segment'
    if (/[/\\]/.test(decoded)) return 'the path has an encoded slash or backslash'
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(decoded)) return 'the path has an encoded control character'
  }
  return undefined
}

/** A request target split at its query: `/a/b?x=1` → `/a/b` and `?x=1`. */
export function splitQuery(url: string): { path: string; query: string } {
  const q = url.indexOf('?')
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q) }
}

/**
 * The upstream's request target: `rewrite` in place of `prefix`, then the rest of the path and
 * the query exactly as sent (still percent-encoded: decoding here and encoding again could change
 * what the upstream sees). Without `rewrite`, the target unchanged. Undefined when the path does
 * not begin with the prefix as written (a router may have matched it after decoding).
 */
export function upstreamTarget(prefix: string, rewrite: string | undefined, url: string): string | undefined {
  const { path, query } = splitQuery(url)
  if (prefix !== '/' && path !== prefix && !path.startsWith(`${prefix}/`)) return undefined
  if (rewrite === undefined) return url
  const rest = prefix === '/' ? path : path.slice(prefix.length)
  const base = rewrite.endsWith('/') && rest.startsWith('/') ? rewrite.slice(0, -1) : rewrite
  return (`${base}${rest}` || '/') + query
}

/** Why a route's prefix or rewrite is not usable, or undefined: `/` or `/segment/...`, no `.`/`..`. */
export function badRoutePath(what: 'prefix' | 'rewrite', value: string): string | undefined {
  const ok =
    value === '/' ||
    (/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(value) && !value.split('/').some((s) => s === '.' || s === '..'))
  if (!ok) return `route ${what} "${value}" must be / or /segment/... (letters, digits, . _ ~ -)`
  if (what === 'prefix' && value !== '/' && value.endsWith('/'))
    return `route prefix "${value}" must not end with /`
  return undefined
}
