import { describe, expect, it } from 'vitest'
import { createWeightedPicker } from './mix.js'

describe('createWeightedPicker', () => {
  it('keeps the exact proportions in every window of one cycle, spread out', () => {
    const pick = createWeightedPicker([3, 1])
    const seq = Array.from({ length: 8 }, pick)
    expect(seq).toEqual([0, 0, 1, 0, 0, 0, 1, 0])
  })

  it('4:1 over 1000 picks is 800:200', () => {
    const pick = createWeightedPicker([4, 1])
    const n = [0, 0]
    for (let i = 0; i < 1000; i++) n[pick()]!++
    expect(n).toEqual([800, 200])
  })

  it('rejects a zero weight', () => expect(() => createWeightedPicker([1, 0])).toThrow())
})
