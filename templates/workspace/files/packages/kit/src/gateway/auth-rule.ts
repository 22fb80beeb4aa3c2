// A route's `auth:` rule, parsed without jose: msvc's own model checks use it too.

/** A route's rule: no token, any valid token, or a valid token holding one of `roles`. */
export type AuthRule = { kind: 'none' } | { kind: 'jwt'; roles: string[] }

const ROLE = /^[A-Za-z0-9_.:-]+$/

/**
 * Parses a route's `auth:` value: `none`, `jwt`, or `jwt(roles=admin,ops)` (a token holding any
 * one of the roles). Returns an error message for anything else.
 */
export function parseAuthRule(text: string): AuthRule | { error: string } {
  const t = text.trim()
  if (t === 'none') return { kind: 'none' }
  if (t === 'jwt') return { kind: 'jwt', roles: [] }
  const m = /^jwt\(roles=([^)]*)\)$/.exec(t)
  if (!m) return { error: `auth "${text}" is not none, jwt or jwt(roles=a,b)` }
  const roles = m[1]!.split(',').map((r) => r.trim())
  const bad = roles.find((r) => !ROLE.test(r))
  if (bad !== undefined)
    return { error: `role "${bad}" in auth "${text}" is not a role name (letters, digits, _ . : -)` }
  return { kind: 'jwt', roles }
}
