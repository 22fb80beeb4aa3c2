/**
 * Masking of environment values that look like secrets, for the dashboard's pages (issue #18):
 * the dashboard shows each service's environment, and a screenshot or a shared screen must not
 * carry a password. Pure: a name and a value in, the value or its mask out.
 */

/** What a masked value is shown as. */
export const MASK = '••••••'

/** Names whose values are secrets whatever they hold: PASSWORD, DB_PASS, JWT_SECRET, API_KEY... */
const SECRET_NAME =
  /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|auth|cookie|session[_-]?key|signing|salt)(_|-|$)/i

/** `scheme://user:password@host`: the password part of a URL. */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/i

/**
 * A value that looks like a key on its own: a long run of base64/hex characters with both letters
 * and digits (a random token), not a path, a URL, a host:port or a word list.
 */
function looksLikeKey(value: string): boolean {
  if (value.length < 24 || /[\s/:.]/.test(value)) return false
  if (!/^[A-Za-z0-9+=_-]+$/.test(value)) return false
  return /[0-9]/.test(value) && /[A-Za-z]/.test(value)
}

/** True when an environment variable's name or value says it is a secret. */
export function isSecretEnv(name: string, value: string): boolean {
  return SECRET_NAME.test(name) || looksLikeKey(value)
}

/**
 * The value as the dashboard may show it: a secret becomes MASK; a URL keeps everything but its
 * password (`postgres://order:••••••@order-db:5432/order`), so the host it points at stays visible.
 * A compose reference (`${VAR:?...}`) is shown as is: it holds no value.
 */
export function maskEnvValue(name: string, value: string): string {
  if (value.startsWith('${')) return value
  if (URL_PASSWORD.test(value)) return value.replace(URL_PASSWORD, `$1${MASK}$3`)
  return isSecretEnv(name, value) ? MASK : value
}

/** Every value of an environment masked as maskEnvValue does; the keys sorted. */
export function maskEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of Object.keys(env).sort()) out[name] = maskEnvValue(name, env[name]!)
  return out
}
