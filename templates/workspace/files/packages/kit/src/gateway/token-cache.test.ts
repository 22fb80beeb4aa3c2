import { SignJWT } from 'jose'
import { describe, expect, it, vi } from 'vitest'
import { AuthError, JwtVerifier } from './auth.js'
import { CachingJwtVerifier } from './token-cache.js'

const SECRET = 'a-dev-secret-of-at-least-thirty-two-bytes'
const sec = (ms: number) => Math.floor(ms / 1000)

function fakeClock(start = Date.UTC(2026, 0, 1, 12)) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

const sign = (sub: string, expSec: number) =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expSec)
    .sign(new TextEncoder().encode(SECRET))

/** The verifier with its signature checks counted. */
function counted(clock: { now: () => number }, maxEntries?: number) {
  const verifier = new CachingJwtVerifier({ secret: SECRET }, clock.now, maxEntries)
  const checks = vi.spyOn(JwtVerifier.prototype, 'verify')
  return { verifier, checks }
}

describe('CachingJwtVerifier on a fake clock', () => {
  it('checks a token once, then remembers it until its exp', async () => {
    const clock = fakeClock()
    const { verifier, checks } = counted(clock)
    const token = await sign('alice', sec(clock.now()) + 60)
    expect(await verifier.verify(token)).toEqual({ sub: 'alice', roles: [] })
    expect(await verifier.verify(token)).toEqual({ sub: 'alice', roles: [] })
    expect(checks).toHaveBeenCalledTimes(1)
    clock.advance(59_000)
    await verifier.verify(token)
    expect(checks).toHaveBeenCalledTimes(1)
    // at exp it is checked again (the skew allowance is the first check's business, not the cache's)
    clock.advance(1000)
    await verifier.verify(token)
    expect(checks).toHaveBeenCalledTimes(2)
    checks.mockRestore()
  })

  it('refuses a remembered token once it has expired', async () => {
    const clock = fakeClock()
    const verifier = new CachingJwtVerifier({ secret: SECRET, clockToleranceSec: 0 }, clock.now)
    const token = await sign('alice', sec(clock.now()) + 10)
    await verifier.verify(token)
    clock.advance(10_000)
    await expect(verifier.verify(token)).rejects.toThrow(AuthError)
    await expect(verifier.verify(token)).rejects.toThrow('the token has expired')
  })

  it('does not remember refusals, and keeps at most maxEntries tokens', async () => {
    const clock = fakeClock()
    const { verifier, checks } = counted(clock, 2)
    await expect(verifier.verify('not.a.token')).rejects.toThrow(AuthError)
    await expect(verifier.verify('not.a.token')).rejects.toThrow(AuthError)
    expect(checks).toHaveBeenCalledTimes(2)
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => sign(sub, sec(clock.now()) + 60)))
    for (const t of tokens) await verifier.verify(t)
    expect(verifier.size).toBe(2)
    await verifier.verify(tokens[0]!) // the oldest was dropped: checked again
    expect(checks).toHaveBeenCalledTimes(2 + 3 + 1)
    checks.mockRestore()
  })
})
