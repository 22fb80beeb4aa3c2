import { describe, expect, it } from 'vitest'
import type { Span, TraceSummary } from '../core/dashboard/spans.js'
import { toWaterfall } from '../core/dashboard/spans.js'
import { formatMs, formatWaterfall } from './traces.js'

const span = (
  o: Partial<Span> & Pick<Span, 'spanId' | 'service' | 'name' | 'startMs' | 'durationMs'>,
): Span => ({
  traceId: 'a'.repeat(32),
  scope: 's',
  kind: 'server',
  status: 'unset',
  attributes: {},
  resource: {},
  events: [],
  links: [],
  ...o,
})

describe('formatWaterfall', () => {
  it('indents children and places bars on the trace’s length', () => {
    const spans = [
      span({ spanId: '1', service: 'gateway', name: 'POST /api/orders', startMs: 1000, durationMs: 100 }),
      span({
        spanId: '2',
        parentSpanId: '1',
        service: 'order',
        name: 'POST /orders',
        startMs: 1050,
        durationMs: 50,
      }),
      span({
        spanId: '3',
        parentSpanId: '2',
        service: 'payment',
        name: 'charge\u001b[31m',
        startMs: 1075,
        durationMs: 25,
        status: 'error',
        statusMessage: 'declined',
      }),
    ]
    const summary: TraceSummary = {
      traceId: 'a'.repeat(32),
      rootName: 'POST /api/orders',
      rootService: 'gateway',
      services: ['gateway', 'order', 'payment'],
      startMs: 1000,
      durationMs: 100,
      spanCount: 3,
      errorCount: 1,
      partial: false,
    }
    expect(formatWaterfall(summary, toWaterfall(spans), { barWidth: 10, nameWidth: 30 })).toEqual([
      `${'a'.repeat(32)}  gateway: POST /api/orders  100.0 ms  3 spans, 1 error`,
      '  gateway POST /api/orders       │██████████│  100.0 ms',
      '    order POST /orders           │     █████│   50.0 ms',
      // the escape sequence of the span name is flattened, never written to the terminal
      '      payment charge [31m        │       ███│   25.0 ms  declined',
    ])
  })
})

describe('formatMs', () => {
  it.each([
    [0.421, '0.42 ms'],
    [12.34, '12.3 ms'],
    [1250, '1.25 s'],
  ])('%d -> %s', (ms, text) => expect(formatMs(ms)).toBe(text))
})
