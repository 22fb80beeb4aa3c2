import { describe, expect, it } from 'vitest'
import { randomHex, requestIdFrom } from './ids.js'

describe('randomHex', () => {
  it('gives the number of bytes asked for, as lowercase hex, different each time across refills of the pool', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const id = randomHex(16)
      expect(id).toMatch(/^[0-9a-f]{32}$/)
      seen.add(id)
    }
    expect(seen.size).toBe(1000)
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/)
    expect(randomHex(4096)).toHaveLength(8192)
  })
})

describe('requestIdFrom', () => {
  it('keeps an acceptable id from the caller and makes a new one for anything else', () => {
    expect(requestIdFrom('abc-123')).toBe('abc-123')
    expect(requestIdFrom('trace:1.2_x')).toBe('trace:1.2_x')
    for (const bad of ['bad id with spaces', '', 'x'.repeat(129), 'a\nb', undefined, ['a', 'b'], 42])
      expect(requestIdFrom(bad)).toMatch(/^[0-9a-f]{32}$/)
  })
})
