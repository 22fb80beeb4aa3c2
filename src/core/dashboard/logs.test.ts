import { describe, expect, it } from 'vitest'
import { LogRing, matchesLogFilter, parseLogLine } from './logs.js'

const line = (o: Record<string, unknown>) => JSON.stringify(o)

describe('parseLogLine', () => {
  it('reads the kit’s JSON lines', () => {
    const e = parseLogLine(
      'order',
      line({
        level: 'warn',
        time: '2026-12-04T10:00:00.000Z',
        service: 'order',
        requestId: 'r-1',
        trace_id: 'ABCDEF',
        span_id: '01',
        msg: 'slow',
      }),
      5,
      1,
    )
    expect(e).toMatchObject({
      level: 'warn',
      timeMs: Date.parse('2026-12-04T10:00:00.000Z'),
      msg: 'slow',
      requestId: 'r-1',
      traceId: 'abcdef',
      spanId: '01',
    })
  })

  it('takes pino’s numeric levels and epoch times', () => {
    expect(parseLogLine('a', line({ level: 50, time: 1234, msg: 'x' }), 0, 1)).toMatchObject({
      level: 'error',
      timeMs: 1234,
    })
  })

  it('keeps a plain line whole, at info, with the time it was read', () => {
    expect(parseLogLine('nats', '[1] [INF] Server is ready', 42, 7)).toEqual({
      seq: 7,
      timeMs: 42,
      service: 'nats',
      level: 'info',
      msg: '[1] [INF] Server is ready',
      raw: '[1] [INF] Server is ready',
    })
    expect(parseLogLine('a', '{not json', 1, 1).msg).toBe('{not json')
  })
})

describe('matchesLogFilter', () => {
  const e = parseLogLine(
    'order',
    line({ level: 'warn', msg: 'Payment Slow', requestId: 'r-1', trace_id: 'aa', span_id: 'c1' }),
    0,
    1,
  )
  it.each([
    [{}, true],
    [{ service: 'order' }, true],
    [{ service: 'payment' }, false],
    [{ level: 'info' as const }, true],
    [{ level: 'warn' as const }, true],
    [{ level: 'error' as const }, false],
    [{ requestId: 'r-1' }, true],
    [{ requestId: 'r-2' }, false],
    [{ traceId: 'AA' }, true],
    [{ traceId: 'bb' }, false],
    [{ traceId: 'aa', spanId: 'C1' }, true],
    [{ traceId: 'aa', spanId: 'c2' }, false],
    [{ text: 'payment slow' }, true],
    [{ text: 'nope' }, false],
  ])('%j -> %s', (f, ok) => expect(matchesLogFilter(e, f)).toBe(ok))
})

describe('LogRing', () => {
  it('keeps the last entries and pages by sequence', () => {
    const ring = new LogRing(3)
    for (let i = 1; i <= 5; i++) ring.add(i % 2 ? 'a' : 'b', `line ${i}`, i)
    expect(ring.size).toBe(3)
    expect(ring.query().map((e) => e.msg)).toEqual(['line 3', 'line 4', 'line 5'])
    expect(ring.query({ service: 'a' }).map((e) => e.msg)).toEqual(['line 3', 'line 5'])
    expect(ring.query({ afterSeq: 4 }).map((e) => e.msg)).toEqual(['line 5'])
    expect(ring.query({ limit: 1 }).map((e) => e.msg)).toEqual(['line 5'])
  })
})
