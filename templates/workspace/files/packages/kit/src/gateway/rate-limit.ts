// The gateway's rate limits: a token bucket per client, with the IETF RateLimit headers.

/** A limit: `rate` requests per `windowSec`, with bursts of up to `burst` (default: `rate`). */
export interface RateLimit {
  rate: number
  windowSec: number
  burst: number
}

const UNITS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600, hour: 3600 }

/**
 * Parses `100/min`, `10/s`, `5000/h`, optionally with a burst: `100/min burst 20`. Returns an
 * error message for anything else.
 */
export function parseRateLimit(text: string): RateLimit | { error: string } {
  const m = /^\s*(\d+)\s*\/\s*(s|sec|m|min|h|hour)(?:\s+burst\s+(\d+))?\s*$/.exec(text)
  if (!m) return { error: `rate limit "${text}" is not <n>/<s|min|h> [burst <n>], e.g. 100/min burst 20` }
  const rate = Number(m[1])
  const burst = m[3] === undefined ? rate : Number(m[3])
  if (rate < 1 || burst < 1) return { error: `rate limit "${text}" must allow at least 1 request` }
  return { rate, windowSec: UNITS[m[2]!]!, burst }
}

/** What one request got: allowed or not, and the numbers the response headers carry. */
export interface RateDecision {
  allowed: boolean
  /** whole requests left in the bucket after this one */
  remaining: number
  /** seconds until the bucket is full again */
  resetSec: number
  /** seconds until one more request is allowed (0 when allowed) */
  retryAfterSec: number
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets, one per client key (a token's `sub`, else the client IP). A
 * bucket holds up to `burst` tokens and refills at `rate` per `windowSec`; a request takes one.
 * Held in this process: behind several gateway replicas without a shared store, each replica
 * allows the full limit. At most `maxKeys` buckets are kept; the longest idle go first (an idle
 * bucket refills, so forgetting one that is full loses nothing).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>()
  private readonly perMs: number

  constructor(
    readonly limit: RateLimit,
    /** the clock, in ms: tests pass a fake one */
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = limit.rate / (limit.windowSec * 1000)
  }

  take(key: string): RateDecision {
    const now = this.now()
    const { burst } = this.limit
    let b = this.buckets.get(key)
    if (b) {
      b.tokens = Math.min(burst, b.tokens + (now - b.at) * this.perMs)
      b.at = now
      // most recently used last: the first entries are the longest idle
      this.buckets.delete(key)
    } else b = { tokens: burst, at: now }
    this.buckets.set(key, b)
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!)
    const allowed = b.tokens >= 1
    if (allowed) b.tokens -= 1
    return {
      allowed,
      remaining: Math.floor(b.tokens),
      resetSec: Math.ceil((burst - b.tokens) / this.perMs / 1000),
      retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)),
    }
  }

  /** How many clients have a bucket now. */
  get size(): number {
    return this.buckets.size
  }
}

/**
 * The response headers of a decision (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy`
 * names the sustained quota and its window, `RateLimit` what is left of the bucket (bursts
 * included) and the seconds until it is full again, and a refusal adds `Retry-After`.
 */
export function rateLimitHeaders(policy: string, limit: RateLimit, d: RateDecision): Record<string, string> {
  return {
    'ratelimit-policy': `"${policy}";q=${limit.rate};w=${limit.windowSec}`,
    ratelimit: `"${policy}";r=${d.remaining};t=${d.resetSec}`,
    ...(d.allowed ? {} : { 'retry-after': String(d.retryAfterSec) }),
  }
}

/**
 * The key a request is limited by: its verified principal, else its client address. An API key
 * header is not a key: unverified, a client could send a new one each time for a fresh bucket.
 */
export function clientKey(opts: { sub?: string | undefined; ip: string }): string {
  return opts.sub ? `sub:${opts.sub}` : `ip:${opts.ip}`
}
