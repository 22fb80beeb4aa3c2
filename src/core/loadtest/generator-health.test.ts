import { describe, expect, it } from 'vitest'
import { judgeGenerator } from './generator-health.js'

const lag = (p99: number, count = 1000) => ({ count, late: 0, lateAfterMs: 1, p50: 0.1, p99, max: p99 * 2 })

describe('judgeGenerator', () => {
  it('an open run on schedule with a loop to spare is not saturated', () => {
    expect(judgeGenerator('open', { cpu: 0.41, eventLoop: 0.38, loopDelayMax: 2 }, lag(0.4))).toEqual({
      saturated: false,
      sendLagP99: 0.4,
      cpu: 0.41,
      eventLoop: 0.38,
      loopDelayMax: 2,
      reasons: [],
    })
  })

  it('send lag p99 over 1 ms saturates an open run, with the figure and a hint', () => {
    const g = judgeGenerator('open', { cpu: 0.7, eventLoop: 0.6, loopDelayMax: 2 }, lag(4.25))
    expect(g).toMatchObject({ saturated: true, sendLagP99: 4.25, hint: expect.stringContaining('--rate') })
    expect(g.reasons).toEqual(['sends fell behind the schedule: send lag p99 4.25 ms (over 1 ms)'])
  })

  it('waiting for a free connection is the system holding them, not the generator: only its own lag counts', () => {
    const use = { cpu: 0.3, eventLoop: 0.3, loopDelayMax: 2 }
    // a paused service held every connection: sends waited ~1.8 s, handed out on time
    expect(judgeGenerator('open', use, { ...lag(1800), own: { p99: 0.4, max: 3 } }).saturated).toBe(false)
    const late = judgeGenerator('open', use, { ...lag(1800), own: { p99: 6.5, max: 30 } })
    expect(late.saturated).toBe(true)
    expect(late.reasons).toEqual([
      'sends fell behind the schedule: the generator handed requests out p99 6.5 ms late (over 1 ms)',
    ])
  })

  it('fewer than 100 sends say nothing of the schedule (their p99 is their largest)', () => {
    expect(judgeGenerator('open', { cpu: 0.2, eventLoop: 0.2, loopDelayMax: 9 }, lag(9, 99)).saturated).toBe(
      false,
    )
    expect(judgeGenerator('open', { cpu: 0.2, eventLoop: 0.2, loopDelayMax: 9 }, lag(9, 100)).saturated).toBe(
      true,
    )
  })

  it('exactly 1 ms is still on schedule', () => {
    expect(judgeGenerator('open', { cpu: 0.5, eventLoop: 0.5, loopDelayMax: 2 }, lag(1)).saturated).toBe(
      false,
    )
  })

  it('an open run busy-waits for its next sends: only its send lag counts', () => {
    expect(judgeGenerator('open', { cpu: 1, eventLoop: 1, loopDelayMax: 2 }, lag(0.3)).saturated).toBe(false)
  })

  it('a busy event loop saturates a closed run, which has no send lag', () => {
    const g = judgeGenerator('closed', { cpu: 1.02, eventLoop: 0.96, loopDelayMax: 2 }, undefined)
    expect(g).toMatchObject({ saturated: true, cpu: 1.02, eventLoop: 0.96, loopDelayMax: 2 })
    expect(g.sendLagP99).toBeUndefined()
    expect(g.reasons).toEqual(["the generator's event loop was busy 96 % of the run (over 90 %)"])
    expect(g.hint).toContain("generator's limit")
  })
})
