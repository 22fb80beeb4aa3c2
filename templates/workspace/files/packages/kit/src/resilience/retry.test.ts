import { describe, expect, it } from 'vitest'
import { backoffDelay, retry } from './retry.js'

describe('backoffDelay (full jitter)', () => {
  it.each([
    [0, 0.999, 99],
    [1, 0.999, 199],
    [3, 0.999, 799],
    [10, 0.999, 999],
    [5, 0, 0],
  ])('retry %i with random %f -> %i ms', (n, r, expected) => {
    expect(backoffDelay(n, 100, 1000, () => r)).toBe(expected)
  })
})

describe('retry', () => {
  it('stops at maxAttempts and throws the last error', async () => {
    const delays: number[] = []
    let calls = 0
    await expect(
      retry(
        async () => {
          calls++
          throw new Error(`fail ${calls}`)
        },
        {
          maxAttempts: 4,
          baseDelayMs: 100,
          maxDelayMs: 250,
          random: () => 0.5,
          sleep: async (ms) => void delays.push(ms),
        },
      ),
    ).rejects.toThrow('fail 4')
    expect(calls).toBe(4)
    expect(delays).toEqual([50, 100, 125])
  })

  it('never retries an error that is not retryable', async () => {
    let calls = 0
    await expect(
      retry(
        async () => {
          calls++
          throw new Error('no')
        },
        { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, isRetryable: () => false, sleep: async () => {} },
      ),
    ).rejects.toThrow('no')
    expect(calls).toBe(1)
  })

  it('returns the first success', async () => {
    let calls = 0
    const v = await retry(
      async (attempt) => {
        calls++
        if (attempt < 3) throw new Error('again')
        return attempt
      },
      { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => {} },
    )
    expect(v).toBe(3)
    expect(calls).toBe(3)
  })
})
