import { describe, expect, it } from 'vitest'
import { TimeoutError, withTimeout } from './timeout.js'

describe('withTimeout', () => {
  it('rejects at the deadline and aborts the signal', async () => {
    let seen: AbortSignal | undefined
    await expect(
      withTimeout((signal) => {
        seen = signal
        return new Promise(() => {})
      }, 20),
    ).rejects.toBeInstanceOf(TimeoutError)
    expect(seen?.aborted).toBe(true)
  })

  it('passes the result through in time', async () => {
    await expect(withTimeout(async () => 42, 1000)).resolves.toBe(42)
  })

  it('follows a parent signal', async () => {
    const parent = new AbortController()
    const p = withTimeout(
      (signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      1000,
      parent.signal,
    )
    parent.abort()
    await expect(p).rejects.toThrow('aborted')
  })
})
