// The gateway's token checks: JWT verification with jose, per-route rules, claims as headers.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose'
import type { AuthRule } from './auth-rule.js'

export { parseAuthRule, type AuthRule } from './auth-rule.js'

/** Where the gateway's keys come from. Either or both: the token's `alg` picks one. */
export interface JwtSettings {
  /** HS256's shared secret (a dev secret in the workspace's git-ignored .env): at least 32 bytes */
  secret?: string
  /** RS256/ES256 keys: a JWKS URL (https, or http on localhost) fetched and cached by jose */
  jwksUrl?: string
  /** RS256/ES256 keys given as a JWKS document (tests, air-gapped setups) */
  jwks?: JSONWebKeySet
  /** the `iss` a token must carry, when set */
  issuer?: string
  /** the `aud` a token must carry (one of), when set */
  audience?: string | string[]
  /** seconds of clock skew allowed on `exp` and `nbf` (default 30) */
  clockToleranceSec?: number
}

/** Who a verified token speaks for: what the gateway forwards upstream. */
export interface Principal {
  sub: string
  roles: string[]
}

/** A refused request: 401 (no or bad token, with WWW-Authenticate) or 403 (a role missing). */
export class AuthError extends Error {
  override name = 'AuthError'
  constructor(
    readonly statusCode: 401 | 403,
    message: string,
    /** the RFC 6750 error code for WWW-Authenticate */
    readonly code: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  ) {
    super(message)
  }

  /** The WWW-Authenticate header of this refusal (RFC 6750). */
  challenge(realm = 'gateway'): string {
    const description = this.message.replace(/["\\]/g, "'")
    return `Bearer realm="${realm}", error="${this.code}", error_description="${description}"`
  }
}

/** The headers that carry a principal upstream; the gateway strips them from every request first. */
export const PRINCIPAL_HEADERS = { user: 'x-user-id', roles: 'x-user-roles' } as const

const SYMMETRIC = ['HS256'] as const
const ASYMMETRIC = ['RS256', 'ES256'] as const

/** The roles a token claims: a `roles` array of strings, or a space-separated `scope`. */
export function rolesOf(payload: JWTPayload): string[] {
  const roles = payload.roles
  if (Array.isArray(roles)) return roles.filter((r): r is string => typeof r === 'string')
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean)
  return []
}

/**
 * Verifies bearer tokens. A token's `alg` picks its key: HS256 only against the shared secret,
 * RS256/ES256 only against the JWKS, so a public key can never be used as an HMAC secret
 * (algorithm confusion); `alg: none` is refused by jose itself. Expiry (required), not-before,
 * issuer and audience are checked, with `clockToleranceSec` of skew.
 */
export class JwtVerifier {
  private readonly secret: Uint8Array | undefined
  private readonly jwks: JWTVerifyGetKey | undefined

  constructor(
    private readonly settings: JwtSettings,
    /** the clock, in ms: tests pass a fake one */
    private readonly now: () => number = Date.now,
  ) {
    if (settings.secret !== undefined) {
      this.secret = new TextEncoder().encode(settings.secret)
      if (this.secret.byteLength < 32) throw new Error('the HS256 secret must be at least 32 bytes')
    }
    if (settings.jwksUrl !== undefined) {
      const url = new URL(settings.jwksUrl)
      const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local))
        throw new Error(`the JWKS URL ${settings.jwksUrl} must be https (http only on localhost)`)
      this.jwks = createRemoteJWKSet(url)
    } else if (settings.jwks) this.jwks = createLocalJWKSet(settings.jwks)
    if (!this.secret && !this.jwks) throw new Error('JWT settings need a secret, a jwksUrl or jwks')
  }

  /** The principal of a valid token; an AuthError (401) otherwise. */
  async verify(token: string): Promise<Principal> {
    let alg: string | undefined
    try {
      alg = decodeProtectedHeader(token).alg
    } catch {
      throw new AuthError(401, 'the token is not a JWT', 'invalid_token')
    }
    const symmetric = (SYMMETRIC as readonly string[]).includes(alg ?? '')
    const asymmetric = (ASYMMETRIC as readonly string[]).includes(alg ?? '')
    if ((!symmetric || !this.secret) && (!asymmetric || !this.jwks))
      throw new AuthError(
        401,
        `tokens signed with ${alg ?? 'no algorithm'} are not accepted`,
        'invalid_token',
      )
    const options = {
      algorithms: symmetric ? [...SYMMETRIC] : [...ASYMMETRIC],
      clockTolerance: this.settings.clockToleranceSec ?? 30,
      currentDate: new Date(this.now()),
      requiredClaims: ['exp', 'sub'],
      ...(this.settings.issuer !== undefined ? { issuer: this.settings.issuer } : {}),
      ...(this.settings.audience !== undefined ? { audience: this.settings.audience } : {}),
    }
    try {
      const { payload } = symmetric
        ? await jwtVerify(token, this.secret!, options)
        : await jwtVerify(token, this.jwks!, options)
      return { sub: payload.sub!, roles: rolesOf(payload) }
    } catch (e) {
      throw new AuthError(401, reason(e), 'invalid_token')
    }
  }

  /**
   * Applies a route's rule to a request's `authorization` header: the principal, undefined for
   * `none`, or an AuthError (401 without a valid bearer token, 403 without one of the roles).
   */
  async authorize(rule: AuthRule, authorization: string | undefined): Promise<Principal | undefined> {
    if (rule.kind === 'none') return undefined
    if (authorization === undefined || authorization === '')
      throw new AuthError(401, 'a bearer token is required', 'invalid_request')
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(authorization.trim())
    if (!m) throw new AuthError(401, 'the authorization header is not "Bearer <token>"', 'invalid_request')
    const principal = await this.verify(m[1]!)
    if (rule.roles.length > 0 && !rule.roles.some((r) => principal.roles.includes(r)))
      throw new AuthError(
        403,
        `this route needs one of the roles ${rule.roles.join(', ')}`,
        'insufficient_scope',
      )
    return principal
  }
}

/** Why jose refused a token, in words a client can act on (never the token itself). */
function reason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'the token has expired'
  if (e instanceof errors.JWTClaimValidationFailed) return `the token's ${e.claim} claim is not accepted`
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify'
  if (e instanceof errors.JWKSNoMatchingKey) return 'no key of the JWKS matches the token'
  if (e instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted'
  if (e instanceof errors.JWTInvalid || e instanceof errors.JWSInvalid) return 'the token is malformed'
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JOSEError)
    return 'the token could not be verified'
  return 'the token could not be verified'
}

/** Request headers for an upstream: the principal's, set after the incoming copies were removed. */
export function principalHeaders(principal: Principal | undefined): Record<string, string> {
  if (!principal) return {}
  return {
    [PRINCIPAL_HEADERS.user]: principal.sub,
    ...(principal.roles.length ? { [PRINCIPAL_HEADERS.roles]: principal.roles.join(',') } : {}),
  }
}

/** What a development token says: who, which roles, for how long. */
export interface TokenClaims {
  sub: string
  roles?: string[]
  ttlSec: number
  issuer?: string
  audience?: string
}

/**
 * An HS256 token signed with the shared secret: what `msvc token` prints and the gateway's own
 * tests send. For development; production tokens come from an identity provider (JWKS).
 */
export async function signToken(
  secret: string,
  claims: TokenClaims,
  now: number = Date.now(),
): Promise<string> {
  const key = new TextEncoder().encode(secret)
  if (key.byteLength < 32) throw new Error('the HS256 secret must be at least 32 bytes')
  const iat = Math.floor(now / 1000)
  let jwt = new SignJWT({ ...(claims.roles?.length ? { roles: claims.roles } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + claims.ttlSec)
  if (claims.issuer !== undefined) jwt = jwt.setIssuer(claims.issuer)
  if (claims.audience !== undefined) jwt = jwt.setAudience(claims.audience)
  return jwt.sign(key)
}
