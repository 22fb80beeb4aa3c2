/**
 * The workspace's `.env`: compose reads it for `${VAR}` in docker-compose.yml, and it holds the
 * gateway's development secret, so it is git-ignored. Only what compose itself accepts is read:
 * `KEY=value` lines, `#` comments, optional quotes around a value.
 */

/** The values of a .env text; later lines win, as in compose. */
export function parseDotEnv(text: string): Map<string, string> {
  const values = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!m) continue
    let value = m[2]!
    const quoted = /^(["'])(.*)\1$/.exec(value)
    value = quoted ? quoted[2]! : value.replace(/\s+#.*$/, '')
    values.set(m[1]!, value)
  }
  return values
}

/** `text` with `KEY=value` appended (after a comment saying what it is), ending in a newline. */
export function appendDotEnv(text: string | undefined, key: string, value: string, comment: string): string {
  const base = text === undefined || text === '' ? '' : text.endsWith('\n') ? text : `${text}\n`
  return `${base}# ${comment}\n${key}=${value}\n`
}

/** True when a .gitignore text ignores the root `.env` file. */
export function ignoresDotEnv(gitignore: string): boolean {
  return gitignore
    .split(/\r?\n/)
    .map((l) => l.trim())
    .some((l) => l === '.env' || l === '/.env' || l === '.env*' || l === '*.env')
}
