export interface RetryOptions {
  /** attempts in all, the first included (3 = one call and up to two retries) */
  maxAttempts: number
  /** delay cap before the first retry, in ms; doubles each retry */
  baseDelayMs: number
  /** no delay is longer than this */
  maxDelayMs: number
  /** only errors for which this is true are retried (default: all) */
  isRetryable?: (error: unknown) => boolean
  /** [0, 1); injectable for tests */
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void
}

/** Exponential backoff with full jitter: a delay drawn uniformly from [0, min(max, base * 2^retry)). */
export function backoffDelay(
  retry: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** retry)
  return Math.floor(random() * cap)
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Calls `fn` until it succeeds, the error is not retryable, or attempts run out (then the last error). */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const random = opts.random ?? Math.random
  const sleep = opts.sleep ?? defaultSleep
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      const retryable = opts.isRetryable ? opts.isRetryable(error) : true
      if (!retryable || attempt >= opts.maxAttempts) throw error
      const delay = backoffDelay(attempt - 1, opts.baseDelayMs, opts.maxDelayMs, random)
      opts.onRetry?.(attempt, delay, error)
      await sleep(delay)
    }
  }
}
