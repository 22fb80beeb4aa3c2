import { describe, expect, it } from 'vitest'
import { sortRuns, toRunSummary } from './runs.js'

const load = {
  target: 'http://127.0.0.1:3001/orders',
  model: 'open',
  startedAt: '2026-12-04T10:00:00.000Z',
  durationMs: 10_000,
  latency: { p50: 1 },
  timeline: [],
  passed: false,
  chaos: [{ label: 'kill payment', startMs: 2000, endMs: 4000 }],
}

const journal = {
  msvc: '0.1.0',
  experiment: { file: 'chaos/kill.yaml', title: 'payment dies' },
  workspace: 'shop',
  startedAt: '2026-12-04T11:00:00.000Z',
  durationMs: 20_000,
  verdict: 'held',
  reasons: [],
  method: [
    {
      type: 'fault',
      atMs: 5000,
      service: 'payment',
      fault: 'kill',
      spec: { kind: 'kill' },
      targets: [],
      appliedAt: '2026-12-04T11:00:05.000Z',
      endedAt: '2026-12-04T11:00:08.000Z',
    },
  ],
  rollbacks: [],
}

describe('toRunSummary', () => {
  it('reads a load report', () => {
    expect(toRunSummary('load.json', load)).toEqual({
      id: 'load.json',
      kind: 'load',
      title: load.target,
      startedAt: load.startedAt,
      startMs: Date.parse(load.startedAt),
      durationMs: 10_000,
      passed: false,
      verdict: 'failed',
      faults: load.chaos,
    })
  })

  it('reads a chaos journal, with its fault windows', () => {
    const r = toRunSummary('j.json', journal)!
    expect(r).toMatchObject({
      kind: 'chaos',
      title: 'payment dies',
      passed: true,
      verdict: 'held',
      durationMs: 20_000,
    })
    expect(r.faults).toEqual([{ label: 'kill payment', startMs: 5000, endMs: 8000 }])
  })

  it.each([[null], [[]], [{}], [{ target: 'x' }], [{ ...load, startedAt: 'yesterday' }], ['text']])(
    'is nothing for %j',
    (v) => expect(toRunSummary('x.json', v)).toBeUndefined(),
  )

  it('sorts newest first', () => {
    const a = toRunSummary('a', load)!
    const b = toRunSummary('b', journal)!
    expect(sortRuns([a, b]).map((r) => r.id)).toEqual(['b', 'a'])
  })
})
