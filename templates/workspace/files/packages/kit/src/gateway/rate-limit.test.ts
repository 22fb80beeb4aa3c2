import { describe, expect, it } from 'vitest'
import { clientKey, parseRateLimit, rateLimitHeaders, TokenBuckets, type RateLimit } from './rate-limit.js'

/** A clock that moves only when told. */
function fakeClock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

describe('parseRateLimit', () => {
  it.each([
    ['100/min', { rate: 100, windowSec: 60, burst: 100 }],
    ['10/s', { rate: 10, windowSec: 1, burst: 10 }],
    ['5000/h burst 50', { rate: 5000, windowSec: 3600, burst: 50 }],
    [' 3 / sec ', { rate: 3, windowSec: 1, burst: 3 }],
  ])('reads %s', (text, limit) => {
    expect(parseRateLimit(text)).toEqual(limit)
  })

  it.each(['100', '100/day', 'ten/s', '0/s', '5/s burst 0', '5/s burst', '-1/s', '1.5/s'])(
    'refuses %s',
    (text) => {
      expect(parseRateLimit(text)).toMatchObject({ error: expect.stringContaining(`"${text}"`) })
    },
  )
})

describe('TokenBuckets on a fake clock', () => {
  const limit: RateLimit = { rate: 60, windowSec: 60, burst: 5 } // one a second, bursts of 5

  it('allows the burst at once, then refuses with Retry-After until a token comes back', () => {
    const clock = fakeClock()
    const buckets = new TokenBuckets(limit, clock.now)
    const first = [1, 2, 3, 4, 5].map(() => buckets.take('ip:1'))
    expect(first.every((d) => d.allowed)).toBe(true)
    expect(first.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0])
    const refused = buckets.take('ip:1')
    expect(refused).toEqual({ allowed: false, remaining: 0, resetSec: 5, retryAfterSec: 1 })
    clock.advance(999)
    expect(buckets.take('ip:1').allowed).toBe(false)
    clock.advance(1)
    expect(buckets.take('ip:1')).toMatchObject({ allowed: true, remaining: 0 })
  })

  it('refills at the rate up to the burst, never beyond', () => {
    const clock = fakeClock()
    const buckets = new TokenBuckets(limit, clock.now)
    for (let i = 0; i < 5; i++) buckets.take('sub:alice')
    clock.advance(3000)
    expect(buckets.take('sub:alice')).toMatchObject({ allowed: true, remaining: 2 })
    clock.advance(3_600_000)
    expect(buckets.take('sub:alice')).toMatchObject({ allowed: true, remaining: 4, resetSec: 1 })
  })

  it('keeps one bucket per client', () => {
    const clock = fakeClock()
    const buckets = new TokenBuckets({ rate: 1, windowSec: 60, burst: 1 }, clock.now)
    expect(buckets.take('sub:alice').allowed).toBe(true)
    expect(buckets.take('sub:alice')).toMatchObject({ allowed: false, retryAfterSec: 60 })
    expect(buckets.take('sub:bob').allowed).toBe(true)
  })

  it('forgets the longest idle client past maxKeys (its bucket would be full again anyway)', () => {
    const clock = fakeClock()
    const buckets = new TokenBuckets({ rate: 1, windowSec: 1, burst: 1 }, clock.now, 2)
    buckets.take('a')
    buckets.take('b')
    buckets.take('a') // a used last: b is the longest idle
    buckets.take('c')
    expect(buckets.size).toBe(2)
    expect(buckets.take('a').allowed).toBe(false) // still remembered, still empty
  })
})

describe('rate limit headers', () => {
  it('states the policy, what is left and when it is whole, and Retry-After on a refusal', () => {
    const limit: RateLimit = { rate: 100, windowSec: 60, burst: 20 }
    expect(
      rateLimitHeaders('orders', limit, { allowed: true, remaining: 19, resetSec: 1, retryAfterSec: 0 }),
    ).toEqual({
      'ratelimit-policy': '"orders";q=100;w=60',
      ratelimit: '"orders";r=19;t=1',
    })
    expect(
      rateLimitHeaders('orders', limit, { allowed: false, remaining: 0, resetSec: 12, retryAfterSec: 1 }),
    ).toEqual({
      'ratelimit-policy': '"orders";q=100;w=60',
      ratelimit: '"orders";r=0;t=12',
      'retry-after': '1',
    })
  })

  it('limits a verified principal, else an address', () => {
    expect(clientKey({ sub: 'alice', ip: '10.0.0.1' })).toBe('sub:alice')
    expect(clientKey({ ip: '10.0.0.1' })).toBe('ip:10.0.0.1')
  })
})
