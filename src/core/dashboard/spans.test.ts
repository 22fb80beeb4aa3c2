import { describe, expect, it } from 'vitest'
import { Interner, nanosToMs, toAttributes, toHexId, toSpans, type OtlpTraceRequest } from './otlp.js'
import { estimateSpanBytes, SpanStore, toWaterfall, type Span } from './spans.js'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const bytes = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)))

let seq = 0
/** A span of trace `traceId` (hex digits are padded), with the fields a test cares about. */
function span(over: Partial<Span> & { trace?: string } = {}): Span {
  const { trace, ...rest } = over
  seq++
  return {
    traceId: (trace ?? 'a').padStart(32, '0'),
    spanId: seq.toString(16).padStart(16, '0'),
    name: 'op',
    service: 'order',
    scope: 'test',
    kind: 'internal',
    startMs: 1000 + seq,
    durationMs: 1,
    status: 'unset',
    attributes: {},
    resource: {},
    events: [],
    links: [],
    ...rest,
  }
}

describe('toHexId', () => {
  it.each([
    ['bytes', bytes(TRACE), 16, TRACE],
    ['hex (OTLP/JSON)', TRACE, 16, TRACE],
    ['upper-case hex', TRACE.toUpperCase(), 16, TRACE],
    ['span id bytes', bytes('00f067aa0ba902b7'), 8, '00f067aa0ba902b7'],
    ['wrong length', bytes('00f067aa0ba902'), 8, undefined],
    ['all zero (invalid in OTLP)', new Uint8Array(8), 8, undefined],
    ['base64 rather than hex', 'APBnqgupArc=', 8, undefined],
    ['missing', undefined, 8, undefined],
    ['empty (a root has no parent)', new Uint8Array(0), 8, undefined],
  ])('%s', (_, id, n, want) => {
    expect(toHexId(id, n)).toBe(want)
  })
})

describe('nanosToMs', () => {
  const ns = 1_700_000_000_123_456_789n
  const long = { low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0 }
  it.each([
    ['a protobufjs Long', long],
    ['a decimal string (OTLP/JSON)', ns.toString()],
    ['a bigint', ns],
    ['a number', Number(ns)],
  ])('reads %s', (_, v) => {
    expect(nanosToMs(v)).toBeCloseTo(1_700_000_000_123.4568, 3)
  })
  it('reads nothing as 0', () => {
    expect(nanosToMs(null)).toBe(0)
    expect(nanosToMs('soon')).toBe(0)
  })
})

describe('toAttributes', () => {
  it('flattens values of every type, nested maps as dotted keys', () => {
    const big = -(2n ** 60n) - 1n
    const kvs = [
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'ok', value: { boolValue: false } },
      { key: 'n', value: { intValue: { low: 42, high: 0 } } },
      { key: 'neg', value: { intValue: { low: -5, high: -1 } } },
      {
        key: 'big',
        value: { intValue: { low: Number(big & 0xffffffffn) | 0, high: Number(big >> 32n) | 0 } },
      },
      { key: 'json.int', value: { intValue: '12' } },
      { key: 'ratio', value: { doubleValue: 0.5 } },
      { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }] } } },
      {
        key: 'db',
        value: { kvlistValue: { values: [{ key: 'system', value: { stringValue: 'postgresql' } }] } },
      },
      { key: 'raw', value: { bytesValue: Uint8Array.from([1, 2, 3, 4]) } },
      { key: 'empty', value: {} },
      { value: { stringValue: 'no key' } },
    ]
    expect(toAttributes(kvs)).toEqual({
      'http.method': 'GET',
      ok: false,
      n: 42,
      neg: -5,
      big: big.toString(),
      'json.int': 12,
      ratio: 0.5,
      tags: '["a",1]',
      'db.system': 'postgresql',
      raw: 'AQIDBA==',
    })
  })

  it('interns values up to its bound and keeps giving them back after it starts again', () => {
    // (string identity cannot be observed in JS; bench/otlp-receiver.mjs measures the memory saved)
    const intern = new Interner(10, 8)
    const got = Array.from({ length: 25 }, (_, i) => intern.get(`k${i % 12}`))
    expect(got).toEqual(Array.from({ length: 25 }, (_, i) => `k${i % 12}`))
    expect(intern.get('x'.repeat(9))).toBe('x'.repeat(9))
  })
})

describe('toSpans', () => {
  const request: OtlpTraceRequest = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'order' } }] },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-http' },
            spans: [
              {
                traceId: bytes(TRACE),
                spanId: bytes('00f067aa0ba902b7'),
                name: 'GET /orders/:id',
                kind: 2,
                startTimeUnixNano: { low: 1_000_000, high: 0 },
                endTimeUnixNano: { low: 3_500_000, high: 0 },
                attributes: [{ key: 'http.status_code', value: { intValue: { low: 500, high: 0 } } }],
                status: { code: 2, message: 'boom' },
                events: [{ name: 'exception', timeUnixNano: { low: 2_000_000, high: 0 }, attributes: [] }],
              },
              {
                traceId: TRACE,
                spanId: '53995c3f42cd8ad8',
                parentSpanId: '00f067aa0ba902b7',
                name: 'SELECT',
                kind: 'SPAN_KIND_CLIENT',
                startTimeUnixNano: '1500000',
                endTimeUnixNano: '1500250',
                status: { code: 'STATUS_CODE_OK' },
                links: [{ traceId: TRACE, spanId: '00f067aa0ba902b7', attributes: [] }],
              },
              { traceId: TRACE, spanId: '', name: 'no id' },
              { traceId: 'nope', spanId: '53995c3f42cd8ad9', name: 'bad trace' },
            ],
          },
        ],
      },
      {
        scopeSpans: [
          { spans: [{ traceId: TRACE, spanId: 'aaaaaaaaaaaaaaaa', kind: 9, status: { code: 7 } }] },
        ],
      },
    ],
  }

  it('converts spans with their service, kind, status, times, events and links', () => {
    const { spans, rejected, rejectedReason } = toSpans(request)
    expect(rejected).toBe(2)
    expect(rejectedReason).toBe('span "no id" has no valid spanId (8 bytes)')
    expect(spans).toHaveLength(3)
    const [server, db, bare] = spans
    expect(server).toMatchObject({
      traceId: TRACE,
      spanId: '00f067aa0ba902b7',
      name: 'GET /orders/:id',
      service: 'order',
      scope: '@opentelemetry/instrumentation-http',
      kind: 'server',
      startMs: 1,
      durationMs: 2.5,
      status: 'error',
      statusMessage: 'boom',
      attributes: { 'http.status_code': 500 },
      resource: { 'service.name': 'order' },
      events: [{ name: 'exception', timeMs: 2, attributes: {} }],
      links: [],
    })
    expect(server!.parentSpanId).toBeUndefined()
    expect(db).toMatchObject({
      parentSpanId: '00f067aa0ba902b7',
      kind: 'client',
      status: 'ok',
      durationMs: 0.00025,
    })
    expect(db!.links).toEqual([{ traceId: TRACE, spanId: '00f067aa0ba902b7', attributes: {} }])
    // out-of-range enums read as unspecified/unset; no service.name reads as the SDKs' default
    expect(bare).toMatchObject({ service: 'unknown_service', kind: 'unspecified', status: 'unset', name: '' })
  })

  it('takes whatever JSON sends without throwing', () => {
    const junk = { resourceSpans: [null, 5, { scopeSpans: 'x' }, { scopeSpans: [{ spans: [null, 'y'] }] }] }
    expect(toSpans(junk as unknown as OtlpTraceRequest)).toEqual({ spans: [], rejected: 0 })
    expect(toSpans({})).toEqual({ spans: [], rejected: 0 })
  })
})

describe('SpanStore', () => {
  it('drops the oldest spans first beyond maxSpans, and counts them', () => {
    const store = new SpanStore({ maxSpans: 3 })
    const spans = [span({ trace: '1' }), span({ trace: '2' }), span({ trace: '2' }), span({ trace: '3' })]
    store.add(spans)
    expect(store.stats).toMatchObject({ spans: 3, traces: 2, dropped: 1, maxSpans: 3 })
    expect(store.getTrace('1'.padStart(32, '0'))).toBeUndefined()
    store.add([span({ trace: '4' })])
    // trace 2 lost its first span: still listed, marked partial
    expect(store.getTrace('2'.padStart(32, '0'))!.summary).toMatchObject({ spanCount: 1, partial: true })
    expect(store.listTraces().map((t) => t.traceId.replace(/^0+/, ''))).toEqual(['4', '3', '2'])
  })

  it('drops the oldest spans first beyond maxBytes', () => {
    const big = { blob: 'x'.repeat(10_000) }
    const one = estimateSpanBytes(span({ attributes: big }))
    const store = new SpanStore({ maxSpans: 100, maxBytes: one * 2.5 })
    store.add([span({ trace: '1', attributes: big }), span({ trace: '2', attributes: big })])
    store.add([span({ trace: '3', attributes: big })])
    expect(store.stats).toMatchObject({ spans: 2, dropped: 1 })
    expect(store.stats.bytes).toBeLessThanOrEqual(one * 2.5)
    expect(store.listTraces().map((t) => t.traceId.replace(/^0+/, ''))).toEqual(['3', '2'])
  })

  it('stays O(1) a span while it drops: 300,000 spans through a ring of 50,000', () => {
    // a store that scanned per span would take minutes here (300,000 x 50,000)
    const store = new SpanStore({ maxSpans: 50_000 })
    for (let i = 0; i < 300; i++)
      store.add(Array.from({ length: 1000 }, (_, j) => span({ trace: ((i * 1000 + j) >> 2).toString(16) })))
    expect(store.stats).toMatchObject({ spans: 50_000, traces: 12_500, dropped: 250_000 })
    expect(store.listTraces({ limit: 2 })).toHaveLength(2)
  })

  it('lists traces newest first, filtered by service, status, duration and trace id', () => {
    const store = new SpanStore()
    const root = (trace: string, over: Partial<Span> = {}) =>
      span({ trace, startMs: 0, durationMs: 10, ...over })
    store.add([
      root('a1', { name: 'GET /orders', service: 'gateway' }),
      span({ trace: 'a1', parentSpanId: 'x', service: 'order', startMs: 2, durationMs: 3 }),
      root('b2', { name: 'POST /pay', service: 'payment', status: 'error', durationMs: 250 }),
      span({ trace: 'c3', parentSpanId: 'y', name: 'child first', service: 'inventory', startMs: 5 }),
      root('c3', { name: 'late root', service: 'gateway', startMs: 4 }),
    ])
    const ids = (q: Parameters<SpanStore['listTraces']>[0]) =>
      store.listTraces(q).map((t) => t.traceId.replace(/^0+/, ''))
    expect(ids({})).toEqual(['c3', 'b2', 'a1'])
    expect(ids({ service: 'order' })).toEqual(['a1'])
    expect(ids({ status: 'error' })).toEqual(['b2'])
    expect(ids({ status: 'ok' })).toEqual(['c3', 'a1'])
    expect(ids({ minDurationMs: 100 })).toEqual(['b2'])
    expect(ids({ traceId: 'a1'.padStart(32, '0').toUpperCase() })).toEqual(['a1'])
    expect(ids({ traceId: '0000' })).toEqual(['c3', 'b2', 'a1'])
    expect(ids({ limit: 1 })).toEqual(['c3'])
    const [c3, , a1] = store.listTraces()
    expect(a1).toMatchObject({
      rootName: 'GET /orders',
      rootService: 'gateway',
      services: ['gateway', 'order'],
    })
    expect(a1).toMatchObject({ spanCount: 2, errorCount: 0, startMs: 0, durationMs: 10, partial: false })
    // the root arrived after its child: it still names the trace
    expect(c3).toMatchObject({ rootName: 'late root', rootService: 'gateway', startMs: 4, durationMs: 10 })
  })

  it('gives one trace its spans by start time, and tells subscribers of each batch', () => {
    const store = new SpanStore()
    const seen: number[] = []
    const unsubscribe = store.subscribe((s) => seen.push(s.length))
    store.subscribe(() => {
      throw new Error('a closed stream') // dropped, without failing the add
    })
    store.add([span({ trace: 't', startMs: 9 }), span({ trace: 't', startMs: 3 })])
    unsubscribe()
    store.add([span({ trace: 't', startMs: 5 })])
    expect(seen).toEqual([2])
    expect(store.getTrace('t'.padStart(32, '0'))!.spans.map((s) => s.startMs)).toEqual([3, 5, 9])
  })

  it('refuses a retention that holds nothing', () => {
    expect(() => new SpanStore({ maxSpans: 0 })).toThrow(
      'maxSpans must be a whole number of 1 or more, not 0',
    )
    expect(() => new SpanStore({ maxBytes: -1 })).toThrow('maxBytes must be more than 0, not -1')
  })
})

describe('toWaterfall', () => {
  it('puts children under their parents, by start time; a missing parent starts a tree of its own', () => {
    const root = span({ name: 'gateway', startMs: 0, spanId: 'r' })
    const order = span({ name: 'order', startMs: 1, spanId: 'o', parentSpanId: 'r' })
    const pay = span({ name: 'payment', startMs: 3, spanId: 'p', parentSpanId: 'o' })
    const inv = span({ name: 'inventory', startMs: 2, spanId: 'i', parentSpanId: 'o' })
    const orphan = span({ name: 'notification', startMs: 0.5, spanId: 'n', parentSpanId: 'gone' })
    const rows = toWaterfall([pay, orphan, inv, root, order])
    expect(rows.map((r) => `${'  '.repeat(r.depth)}${r.span.name}${r.orphan ? ' (orphan)' : ''}`)).toEqual([
      'gateway',
      '  order',
      '    inventory',
      '    payment',
      'notification (orphan)',
    ])
  })

  it('shows every span once when parent ids form a cycle', () => {
    const a = span({ spanId: 'a', parentSpanId: 'b', name: 'a' })
    const b = span({ spanId: 'b', parentSpanId: 'a', name: 'b' })
    expect(toWaterfall([a, b]).map((r) => [r.span.name, r.depth])).toEqual([
      ['a', 0],
      ['b', 1],
    ])
  })
})
