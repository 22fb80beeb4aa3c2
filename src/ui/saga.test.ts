import { describe, expect, it } from 'vitest'
import type { SagaDetails } from '../core/saga/view.js'
import { formatElapsed, formatSagaDetails, formatSagaList, oneLine } from './saga.js'

const T0 = Date.parse('2026-12-04T10:00:00.000Z')
const at = (ms: number) => new Date(T0 + ms).toISOString()

const COMPENSATED: SagaDetails = {
  id: 'sg_1',
  name: 'place-order',
  state: 'compensated',
  attempt: 1,
  failedStep: 'charge',
  error: 'charge: payment answered 503\nretry later',
  createdAt: at(0),
  updatedAt: at(4000),
  finishedAt: at(4000),
  input: { id: 'ord_1' },
  outputs: {},
  timeline: [
    {
      step: 'reserve-stock',
      phase: 'call',
      attempt: 1,
      runner: 'r',
      startedAt: at(0),
      endedAt: at(20),
      outcome: 'ok',
      durationMs: 20,
    },
    {
      step: 'charge',
      phase: 'call',
      attempt: 1,
      runner: 'r',
      startedAt: at(20),
      endedAt: at(3020),
      outcome: 'timeout',
      durationMs: 3000,
      error: 'deadline of 3 s',
    },
    {
      step: 'charge',
      phase: 'compensate',
      attempt: 1,
      runner: 'r',
      startedAt: at(3500),
      endedAt: at(3510),
      outcome: 'ok',
      durationMs: 10,
    },
    {
      step: 'reserve-stock',
      phase: 'compensate',
      attempt: 1,
      runner: 'r',
      startedAt: at(3990),
      endedAt: at(4000),
      outcome: 'ok',
      durationMs: 10,
    },
  ],
}

describe('msvc saga output (issue 17)', () => {
  it('formats durations at the precision a reader needs', () => {
    expect([450, 3210, 12_345, 125_000, 11_400_000].map(formatElapsed)).toEqual([
      '450 ms',
      '3.21 s',
      '12.3 s',
      '2 min 5 s',
      '3 h 10 min',
    ])
  })

  it('keeps data from breaking a line: control characters become spaces, long text is cut', () => {
    expect(oneLine('a\nb\u001b[31mc', 80)).toBe('a b [31mc')
    expect(oneLine('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`)
  })

  it('shows each attempt in order with its offset, phase, outcome, duration and error', () => {
    const text = formatSagaDetails(COMPENSATED, T0 + 10_000)
    const lines = text.split('\n')
    expect(lines[0]).toBe('saga sg_1  place-order  compensated in 4.00 s')
    expect(text).toContain('failed at step charge')
    expect(text).toContain('error: charge: payment answered 503 retry later')
    const rows = lines.filter((l) => /^\s+\+/.test(l))
    expect(rows.map((r) => r.trim().split(/\s+/).slice(0, 5))).toEqual([
      ['+0', 'ms', 'reserve-stock', 'call', '#1'],
      ['+20', 'ms', 'charge', 'call', '#1'],
      ['+3.50', 's', 'charge', 'compensate', '#1'],
      ['+3.99', 's', 'reserve-stock', 'compensate', '#1'],
    ])
    expect(rows[1]).toContain('timeout')
    expect(rows[1]).toContain('deadline of 3 s')
    // the bars: the charge call spans most of the saga; compensations are drawn apart
    expect(rows[1]).toMatch(/\|█{15,}/)
    expect(rows[3]).toMatch(/░\|/)
  })

  it('says where a running saga is, and when no step has started', () => {
    const running: SagaDetails = {
      ...COMPENSATED,
      state: 'running',
      step: 'charge',
      attempt: 2,
      failedStep: undefined,
      error: undefined,
      finishedAt: undefined,
      timeline: [],
    }
    const text = formatSagaDetails(running, T0 + 1500)
    expect(text).toContain('running for 1.50 s')
    expect(text).toContain('at step charge (attempt 2)')
    expect(text).toContain('no step has started yet')
  })

  it('lists sagas as a table with their age', () => {
    const text = formatSagaList([{ ...COMPENSATED, state: 'stuck', step: 'charge' }], T0 + 65_000)
    expect(text.split('\n')).toEqual([
      expect.stringMatching(/^ID\s+SAGA\s+STATE\s+STEP\s+STARTED\s+ERROR$/),
      expect.stringMatching(
        /^sg_1\s+place-order\s+stuck\s+charge\s+1 min 5 s ago\s+charge: payment answered 503 retry later$/,
      ),
    ])
  })
})
