import { describe, expect, it } from 'vitest'
import { compileFlow, stepOutcome, type FlowSpec } from './flow.js'
import { FlowRecorder, mergeFlowReports } from './flow-stats.js'
import { RefusedRequestError } from './request.js'
import { parseScenario } from './scenario.js'

const dec = (b: Uint8Array) => new TextDecoder().decode(b)
const ctx = (vars: Record<string, string>) => ({ seq: 3, random: () => 0, nowMs: 0, vars })

const CHECKOUT = `
target: http://127.0.0.1:3001
headers: { x-client: load }
requests:
  - path: /health
    weight: 3
flows:
  - name: checkout
    weight: 2
    steps:
      - name: create
        method: POST
        path: /orders
        body: { name: "order {{seq}}" }
        expect: 201
        capture: { id: $.id, where: "header:Location" }
      - name: get
        path: /orders/{{id}}
        headers: { x-order: "{{id}}" }
        check: { $.status: confirmed, $.total: 30 }
      - name: cancel
        method: POST
        path: /orders/{{id}}/cancel
        body: { id: "{{id}}", at: "{{where}}" }
`

function parsed(text: string) {
  const r = parseScenario(text)
  if (!r.ok) throw new Error(JSON.stringify(r))
  return r.scenario
}

describe('flows in a scenario', () => {
  it('reads ordered steps with captures, checks and the scenario headers', () => {
    const s = parsed(CHECKOUT)
    expect(s.requests.map((r) => r.name)).toEqual(['GET /health'])
    const [flow] = s.flows!
    expect(flow).toMatchObject({ name: 'checkout', weight: 2 })
    expect(flow!.steps.map((st) => [st.name, st.method, st.path, st.captures.map((c) => c.name)])).toEqual([
      ['create', 'POST', '/orders', ['id', 'where']],
      ['get', 'GET', '/orders/{{id}}', []],
      ['cancel', 'POST', '/orders/{{id}}/cancel', []],
    ])
    expect(flow!.steps[1]!.headers).toEqual({ 'x-client': 'load', 'x-order': '{{id}}' })
    expect(flow!.steps[1]!.checks.map((c) => [c.from.text, c.expected])).toEqual([
      ['$.status', 'confirmed'],
      ['$.total', 30],
    ])
  })

  it('a scenario of flows only needs no requests', () => {
    const s = parsed('flows: [{ name: one, steps: [{ path: /a }] }]')
    expect(s.requests).toEqual([])
    expect(s.flows).toHaveLength(1)
  })

  it.each([
    [
      'a variable no earlier step captures',
      'flows: [{ steps: [{ path: "/orders/{{id}}", capture: { id: $.id } }] }]',
      /^flows\[0\]\.steps\[0\]\.path: unknown placeholder "\{\{id\}\}"/,
      /variables the steps before it capture/,
    ],
    [
      'a variable of a later step',
      'flows: [{ steps: [{ path: /a, headers: { x: "{{later}}" } }, { path: /b, capture: { later: $.x } }] }]',
      /^flows\[0\]\.steps\[0\]\.headers\.x: unknown placeholder "\{\{later\}\}"/,
      /variables the steps before it capture/,
    ],
    [
      'a bad JSON path',
      'flows: [{ steps: [{ path: /a, capture: { id: "$.items[*]" } }] }]',
      /^flows\[0\]\.steps\[0\]\.capture\.id: "\$\.items\[\*\]" is not a JSON path/,
      /a JSON path \(\$\.id/,
    ],
    [
      'a check that is no path',
      'flows: [{ steps: [{ path: /a, check: { status: ok } }] }]',
      /^flows\[0\]\.steps\[0\]\.check: "status" is not a JSON path/,
      /a JSON path/,
    ],
    [
      'a name captured twice',
      'flows: [{ steps: [{ path: /a, capture: { id: $.id } }, { path: "/b/{{id}}", capture: { id: $.id } }] }]',
      /^flows\[0\]\.steps\[1\]\.capture\.id: steps\[0\] captures id already$/,
      /its own name/,
    ],
    [
      'a placeholder name',
      'flows: [{ steps: [{ path: /a, capture: { seq: $.id } }] }]',
      /^flows\[0\]\.steps\[0\]\.capture\.seq: "seq" cannot name a variable/,
      /a name is letters, digits and _/,
    ],
    [
      'an empty flow',
      'flows: [{ name: x, steps: [] }]',
      /^flows\[0\]\.steps: a flow needs at least one step$/,
      /steps: \[/,
    ],
    [
      'a flow with no steps',
      'flows: [{ name: x }]',
      /^flows\[0\]\.steps: a flow needs at least one step$/,
      /steps: \[/,
    ],
    [
      'flows that are no list',
      'requests: [{ path: /a }]\nflows: { a: 1 }',
      /^flows: a list of flows$/,
      /steps: \[/,
    ],
    [
      'a gRPC step',
      'flows: [{ steps: [{ grpc: { service: order, method: GetOrder } }] }]',
      /^flows\[0\]\.steps\[0\]\.grpc: a flow step is an HTTP request$/,
      /HTTP requests only/,
    ],
    [
      'a capture on a weighted request',
      'requests: [{ path: /a, capture: { id: $.id } }]',
      /^requests\[0\]\.capture: captures and checks belong to the steps of flows:$/,
      /a flow may have one step/,
    ],
  ])('refuses %s, with a hint', (_, text, problem, hint) => {
    const r = parseScenario(text)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems[0]).toMatch(problem)
    expect(r.hint).toMatch(hint)
  })
})

describe('compileFlow', () => {
  const flow = parsed(CHECKOUT).flows![0]!
  const [create, get, cancel] = compileFlow(flow, 'h').steps

  it('puts captured values where they are safe: path encoded, JSON escaped', () => {
    expect(create!.keeps).toBe(true)
    expect(cancel!.keeps).toBe(false)
    expect(create!.request.spec.name).toBe('checkout › create')
    const vars = { id: 'a/b "c"', where: '/orders/1' }
    expect(dec(get!.request.encode(ctx({ id: 'a/b c' })))).toBe(
      'GET /orders/a%2Fb%20c HTTP/1.1\r\nhost: h\r\nx-client: load\r\nx-order: a/b c\r\n\r\n',
    )
    expect(dec(cancel!.request.encode(ctx(vars)))).toContain('\r\n\r\n{"id":"a/b \\"c\\"","at":"/orders/1"}')
    expect(JSON.parse(dec(cancel!.request.encode(ctx(vars))).split('\r\n\r\n')[1]!)).toEqual({
      id: 'a/b "c"',
      at: '/orders/1',
    })
  })

  it('refuses a header whose captured value holds a line break', () => {
    expect(() => get!.request.encode(ctx({ id: 'x\r\nx-admin: 1' }))).toThrow(RefusedRequestError)
    expect(() => get!.request.encode(ctx({ id: 'x\nb' }))).toThrow(
      'headers.x-order: a captured value holds a line break (CR or LF)',
    )
  })

  it('judges an answer: captures, typed checks, what stops the iteration', () => {
    const answer = (body: string, headers: Record<string, string> = {}) => ({
      body,
      header: (n: string) => headers[n],
    })
    expect(stepOutcome(create!, 201, answer('{"id":"o-1"}', { location: '/orders/o-1' }))).toEqual({
      failed: false,
      checked: true,
      failedChecks: [],
      vars: { id: 'o-1', where: '/orders/o-1' },
    })
    expect(stepOutcome(create!, 201, answer('{"name":"x"}', { location: '/x' }))).toMatchObject({
      failed: true,
      stop: 'capture id: the answer has no $.id',
    })
    expect(stepOutcome(create!, 500, undefined)).toMatchObject({
      failed: true,
      stop: 'status 500 not expected',
      checked: false,
    })
    expect(stepOutcome(create!, 0, undefined)).toMatchObject({ stop: 'no answer' })
    // a failed check is an error; the iteration goes on
    expect(stepOutcome(get!, 200, answer('{"status":"confirmed","total":"30"}'))).toEqual({
      failed: true,
      checked: true,
      failedChecks: [1],
      vars: {},
    })
    expect(stepOutcome(cancel!, 200, undefined)).toEqual({ failed: false, checked: false, failedChecks: [] })
  })
})

describe('FlowRecorder and mergeFlowReports', () => {
  const flow: FlowSpec = parsed(CHECKOUT).flows![0]!
  it('counts per flow and step, and merges workers exactly', () => {
    const a = new FlowRecorder([flow])
    const b = new FlowRecorder([flow])
    const one = new FlowRecorder([flow])
    const feed = (rs: FlowRecorder[], latencies: number[]) => {
      for (const r of rs) {
        for (const l of latencies) {
          r.started(0)
          r.checked(0, 1, l > 20 ? [0] : [])
          r.completed(0, l)
        }
        r.started(0)
        r.stopped(0, 0, 'capture id: the answer has no $.id')
      }
    }
    feed([a, one], [5, 10, 30])
    feed([b, one], [7, 50, 2])
    const merged = mergeFlowReports([a.report(), b.report()], [a.histograms(), b.histograms()])
    expect(merged).toEqual(one.report())
    expect(merged[0]).toMatchObject({ iterations: 8, completed: 6, stopped: 2 })
    expect(merged[0]!.latency).toMatchObject({ count: 6, max: 50 })
    expect(merged[0]!.steps.map((s) => [s.endpoint, s.checks, s.stops])).toEqual([
      ['checkout › create', [], { 'capture id: the answer has no $.id': 2 }],
      [
        'checkout › get',
        [
          { check: '$.status = "confirmed"', passed: 4, failed: 2 },
          { check: '$.total = 30', passed: 6, failed: 0 },
        ],
        {},
      ],
      ['checkout › cancel', [], {}],
    ])
  })
})
