import { describe, expect, it } from 'vitest'
import { durationMs, formatDuration, formatRate, parseDuration, parsePercent, parseRate } from './units.js'

describe('parseDuration', () => {
  it.each([
    ['200ms', 200],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    [' 10s ', 10_000],
  ])('%s -> %d ms', (s, ms) => expect(parseDuration(s)).toBe(ms))
  it.each(['', '10', 'soon', '-1s', '10 s', 's10'])('rejects %j', (s) =>
    expect(parseDuration(s)).toBeUndefined(),
  )
})

describe('durationMs', () => {
  it('reads what parseDuration reads, and a bare number (or YAML number) as seconds', () => {
    expect(durationMs('1m30s')).toBe(90_000)
    expect(durationMs('90')).toBe(90_000)
    expect(durationMs(' 1.5 ')).toBe(1500)
    expect(durationMs(2)).toBe(2000)
    expect(durationMs(0)).toBe(0)
  })
  it('refuses what is neither', () => {
    for (const v of ['ten', '-1', '10 s', '', undefined, null, {}, -2]) expect(durationMs(v)).toBeUndefined()
  })
})

describe('parsePercent', () => {
  it.each([
    ['20%', 0.2],
    ['0.5%', 0.005],
    ['100%', 1],
  ])('%s -> %d', (s, v) => expect(parsePercent(s)).toBeCloseTo(v))
  it.each(['20', '101%', 'x%', '-5%'])('rejects %j', (s) => expect(parsePercent(s)).toBeUndefined())
})

describe('parseRate', () => {
  it.each([
    ['100kbit', 12_500],
    ['1mbit', 125_000],
    ['8bit', 1],
    ['10kbps', 10_000],
    ['1MBIT', 125_000],
  ])('%s -> %d bytes/s', (s, v) => expect(parseRate(s)).toBe(v))
  it.each(['100', '100kb', 'fast', '0kbit'])('rejects %j', (s) => expect(parseRate(s)).toBeUndefined())
})

describe('format', () => {
  it.each([
    [200, '200ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [120_000, '2m'],
  ])('formatDuration(%d) = %s', (ms, s) => expect(formatDuration(ms)).toBe(s))
  it.each([
    [12_500, '100kbit'],
    [125_000, '1mbit'],
    [1, '8bit'],
  ])('formatRate(%d) = %s', (b, s) => expect(formatRate(b)).toBe(s))
})
