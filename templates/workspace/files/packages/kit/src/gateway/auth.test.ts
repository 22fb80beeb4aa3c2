import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWTPayload,
} from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  AuthError,
  JwtVerifier,
  parseAuthRule,
  principalHeaders,
  signToken,
  type JwtSettings,
} from './auth.js'

const SECRET = 'a-dev-secret-of-at-least-thirty-two-bytes'
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
const sec = (ms: number) => Math.floor(ms / 1000)

const hs256 = (claims: JWTPayload, secret = SECRET) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(sec(NOW) + 3600)
    .sign(new TextEncoder().encode(secret))

/** The principal, or how the token was refused: status and message. */
async function outcome(v: JwtVerifier, token: string) {
  try {
    return await v.verify(token)
  } catch (e) {
    if (!(e instanceof AuthError)) throw e
    return { status: e.statusCode, message: e.message }
  }
}

describe('JwtVerifier with HS256 (the dev secret) on a fake clock', () => {
  const verifier = new JwtVerifier({ secret: SECRET }, () => NOW)

  it('accepts a valid token and reads its roles', async () => {
    expect(await outcome(verifier, await hs256({ sub: 'alice', roles: ['admin', 'ops'] }))).toEqual({
      sub: 'alice',
      roles: ['admin', 'ops'],
    })
    expect(await outcome(verifier, await hs256({ sub: 'bob', scope: 'read write' }))).toEqual({
      sub: 'bob',
      roles: ['read', 'write'],
    })
  })

  it('allows 30 s of clock skew on expiry and not-before, and no more', async () => {
    const expired = (by: number) =>
      new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(sec(NOW) - by)
        .sign(new TextEncoder().encode(SECRET))
    expect(await outcome(verifier, await expired(29))).toMatchObject({ sub: 'alice' })
    expect(await outcome(verifier, await expired(31))).toEqual({
      status: 401,
      message: 'the token has expired',
    })
    const early = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setNotBefore(sec(NOW) + 60)
      .setExpirationTime(sec(NOW) + 3600)
      .sign(new TextEncoder().encode(SECRET))
    expect(await outcome(verifier, early)).toEqual({
      status: 401,
      message: "the token's nbf claim is not accepted",
    })
  })

  it.each([
    [
      'no exp',
      () =>
        new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET)),
    ],
    ['no sub', () => hs256({})],
    ['another secret', () => hs256({ sub: 'a' }, 'another-secret-of-at-least-thirty-two-bytes')],
    ['alg none', async () => new UnsecuredJWT({ sub: 'a', exp: sec(NOW) + 60 }).encode()],
    [
      'a payload changed after signing',
      async () => {
        const [h, , s] = (await hs256({ sub: 'alice' })).split('.')
        const forged = Buffer.from(JSON.stringify({ sub: 'admin', exp: sec(NOW) + 60 })).toString('base64url')
        return `${h}.${forged}.${s}`
      },
    ],
    ['not a JWT', async () => 'hello'],
    ['a header that is not JSON', async () => `${Buffer.from('{x').toString('base64url')}.e30.`],
    [
      'HS512',
      () =>
        new SignJWT({ sub: 'a' })
          .setProtectedHeader({ alg: 'HS512' })
          .setExpirationTime(sec(NOW) + 60)
          .sign(new TextEncoder().encode(SECRET + SECRET)),
    ],
  ])('refuses a token with %s (401)', async (_what, make) => {
    expect(await outcome(verifier, await make())).toMatchObject({ status: 401 })
  })

  it('checks issuer and audience when they are set', async () => {
    const strict = new JwtVerifier({ secret: SECRET, issuer: 'shop', audience: 'shop-api' }, () => NOW)
    expect(await outcome(strict, await hs256({ sub: 'a', iss: 'shop', aud: 'shop-api' }))).toMatchObject({
      sub: 'a',
    })
    expect(await outcome(strict, await hs256({ sub: 'a', iss: 'evil', aud: 'shop-api' }))).toEqual({
      status: 401,
      message: "the token's iss claim is not accepted",
    })
    expect(await outcome(strict, await hs256({ sub: 'a', iss: 'shop', aud: 'other' }))).toEqual({
      status: 401,
      message: "the token's aud claim is not accepted",
    })
  })

  it('refuses a secret too short to be one, and a JWKS URL over plain http off localhost', () => {
    expect(() => new JwtVerifier({ secret: 'short' })).toThrow(/at least 32 bytes/)
    expect(() => new JwtVerifier({ jwksUrl: 'http://auth.example.com/jwks.json' })).toThrow(/must be https/)
    expect(() => new JwtVerifier({ jwksUrl: 'http://localhost:8080/jwks.json' })).not.toThrow()
    expect(() => new JwtVerifier({})).toThrow(/need a secret/)
  })
})

describe('JwtVerifier with RS256 and ES256 keys (a JWKS)', () => {
  let settings: JwtSettings
  let rsa: CryptoKey
  let ec: CryptoKey
  let rsaPublicPem: string

  beforeAll(async () => {
    const r = await generateKeyPair('RS256')
    const e = await generateKeyPair('ES256')
    rsa = r.privateKey
    ec = e.privateKey
    rsaPublicPem = await exportSPKI(r.publicKey)
    settings = {
      jwks: {
        keys: [
          { ...(await exportJWK(r.publicKey)), kid: 'rsa', alg: 'RS256' },
          { ...(await exportJWK(e.publicKey)), kid: 'ec', alg: 'ES256' },
        ],
      },
    }
  })

  const signed = (alg: 'RS256' | 'ES256', key: CryptoKey, claims: JWTPayload = { sub: 'carol' }) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid: alg === 'RS256' ? 'rsa' : 'ec' })
      .setExpirationTime(sec(NOW) + 600)
      .sign(key)

  it('accepts RS256 and ES256 tokens signed by the JWKS keys', async () => {
    const v = new JwtVerifier(settings, () => NOW)
    expect(await outcome(v, await signed('RS256', rsa))).toEqual({ sub: 'carol', roles: [] })
    expect(await outcome(v, await signed('ES256', ec))).toEqual({ sub: 'carol', roles: [] })
  })

  it('refuses algorithm confusion: an HS256 token keyed with the public key', async () => {
    const confused = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa' })
      .setExpirationTime(sec(NOW) + 600)
      .sign(new TextEncoder().encode(rsaPublicPem))
    // with only the JWKS, HS256 is not accepted at all
    expect(await outcome(new JwtVerifier(settings, () => NOW), confused)).toEqual({
      status: 401,
      message: 'tokens signed with HS256 are not accepted',
    })
    // with both, HS256 is checked against the secret alone, never a public key
    expect(await outcome(new JwtVerifier({ ...settings, secret: SECRET }, () => NOW), confused)).toEqual({
      status: 401,
      message: 'the token signature does not verify',
    })
  })

  it('refuses an asymmetric token when only the secret is configured', async () => {
    expect(await outcome(new JwtVerifier({ secret: SECRET }, () => NOW), await signed('RS256', rsa))).toEqual(
      {
        status: 401,
        message: 'tokens signed with RS256 are not accepted',
      },
    )
  })
})

describe('JwtVerifier.authorize: a route rule against the authorization header', () => {
  const verifier = new JwtVerifier({ secret: SECRET }, () => NOW)
  const refusal = async (p: Promise<unknown>) => {
    try {
      await p
      return undefined
    } catch (e) {
      const a = e as AuthError
      return { status: a.statusCode, challenge: a.challenge() }
    }
  }

  it('lets anyone through a route with auth none', async () => {
    expect(await verifier.authorize({ kind: 'none' }, undefined)).toBeUndefined()
  })

  it('answers 401 with a Bearer challenge without a usable token', async () => {
    expect(await refusal(verifier.authorize({ kind: 'jwt', roles: [] }, undefined))).toEqual({
      status: 401,
      challenge:
        'Bearer realm="gateway", error="invalid_request", error_description="a bearer token is required"',
    })
    expect(await refusal(verifier.authorize({ kind: 'jwt', roles: [] }, 'Basic YWxpY2U6cHc='))).toMatchObject(
      {
        status: 401,
      },
    )
    expect(await refusal(verifier.authorize({ kind: 'jwt', roles: [] }, 'Bearer not-a-token'))).toMatchObject(
      {
        status: 401,
      },
    )
  })

  it('answers 403 without one of the roles, and gives the principal with one', async () => {
    const token = await hs256({ sub: 'alice', roles: ['ops'] })
    expect(await refusal(verifier.authorize({ kind: 'jwt', roles: ['admin'] }, `Bearer ${token}`))).toEqual({
      status: 403,
      challenge:
        'Bearer realm="gateway", error="insufficient_scope", error_description="this route needs one of the roles admin"',
    })
    const principal = await verifier.authorize({ kind: 'jwt', roles: ['admin', 'ops'] }, `bearer ${token}`)
    expect(principalHeaders(principal)).toEqual({ 'x-user-id': 'alice', 'x-user-roles': 'ops' })
  })
})

describe('parseAuthRule', () => {
  it.each([
    ['none', { kind: 'none' }],
    ['jwt', { kind: 'jwt', roles: [] }],
    ['jwt(roles=admin)', { kind: 'jwt', roles: ['admin'] }],
    ['jwt(roles=admin, billing:write)', { kind: 'jwt', roles: ['admin', 'billing:write'] }],
  ])('reads %s', (text, rule) => {
    expect(parseAuthRule(text)).toEqual(rule)
  })

  it.each(['basic', 'jwt(admin)', 'jwt(roles=)', 'jwt(roles=a b)', 'jwt(roles=a,,b)', 'JWT'])(
    'refuses %s',
    (text) => {
      expect(parseAuthRule(text)).toMatchObject({ error: expect.any(String) })
    },
  )
})

describe('signToken (msvc token, the gateway tests)', () => {
  it('signs what the verifier accepts, for ttl seconds, with roles, issuer and audience', async () => {
    const token = await signToken(
      SECRET,
      { sub: 'bob', roles: ['admin'], ttlSec: 60, issuer: 'me', audience: 'shop' },
      NOW,
    )
    const strict = new JwtVerifier(
      { secret: SECRET, issuer: 'me', audience: 'shop', clockToleranceSec: 0 },
      () => NOW + 59_000,
    )
    expect(await outcome(strict, token)).toEqual({ sub: 'bob', roles: ['admin'] })
    const later = new JwtVerifier({ secret: SECRET, clockToleranceSec: 0 }, () => NOW + 61_000)
    expect(await outcome(later, token)).toEqual({ status: 401, message: 'the token has expired' })
  })

  it('refuses a secret shorter than 32 bytes', async () => {
    await expect(signToken('short', { sub: 'x', ttlSec: 1 })).rejects.toThrow(/at least 32 bytes/)
  })
})

describe('JWKS URLs', () => {
  it('takes plain http only on the machine itself, IPv6 loopback included', () => {
    for (const url of [
      'http://localhost:1/jwks',
      'http://127.0.0.1:1/jwks',
      'http://[::1]:1/jwks',
      'https://id.example/jwks',
    ])
      expect(() => new JwtVerifier({ jwksUrl: url }), url).not.toThrow()
    expect(() => new JwtVerifier({ jwksUrl: 'http://id.example/jwks' })).toThrow(/must be https/)
  })
})
