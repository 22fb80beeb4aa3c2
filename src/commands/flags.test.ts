import { describe, expect, it } from 'vitest'
import { UserError } from '../errors.js'
import { durationFlag, sinceFlag } from './flags.js'

describe('durationFlag', () => {
  it('reads units and bare seconds alike, for every command', () => {
    expect(durationFlag('90', '--timeout')).toBe(90_000)
    expect(durationFlag('90s', '--timeout')).toBe(90_000)
    expect(durationFlag('1m30s', '--for')).toBe(90_000)
    expect(durationFlag('250ms', '--duration')).toBe(250)
  })

  it('refuses anything else, and zero, in one line naming the flag with a hint', () => {
    for (const bad of ['soon', '0', '0s', '-5', '10 s']) {
      const e = (() => {
        try {
          durationFlag(bad, '--timeout', '90s')
        } catch (err) {
          return err
        }
      })()
      expect(e).toBeInstanceOf(UserError)
      expect((e as UserError).message).toBe(`--timeout "${bad}" is not a duration`)
      expect((e as UserError).hint).toBe('for example --timeout 90s (ms, s, m, h; a bare number is seconds)')
    }
  })
})

describe('sinceFlag', () => {
  const now = Date.parse('2026-12-04T10:00:00Z')
  it('reads a duration as that long ago, and an ISO time as itself, in Unix seconds', () => {
    expect(sinceFlag('10m', now)).toBe(now / 1000 - 600)
    expect(sinceFlag('1m30s', now)).toBe(now / 1000 - 90)
    expect(sinceFlag('2026-12-04T09:00:00Z', now)).toBe(now / 1000 - 3600)
  })
  it('refuses anything else with a hint', () => {
    expect(() => sinceFlag('yesterday', now)).toThrow('--since "yesterday" is not a duration or a time')
  })
})
