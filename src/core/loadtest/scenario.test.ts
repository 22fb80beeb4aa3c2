import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { yamlBlocksOf } from '../../../test/helpers/docs.js'
import { parseScenario } from './scenario.js'

describe('parseScenario', () => {
  it('reads every scenario of docs/loadtest.md', () => {
    const blocks = yamlBlocksOf('loadtest.md')
    expect(blocks).toHaveLength(3)
    for (const block of blocks) {
      const r = parseScenario(block)
      if (!r.ok) throw new Error(JSON.stringify(r))
      expect(r.scenario.requests.length).toBeGreaterThan(0)
    }
    const flows = blocks.flatMap((b) => {
      const r = parseScenario(b)
      return r.ok ? (r.scenario.flows ?? []) : []
    })
    expect(flows.map((f) => f.steps.length)).toEqual([3])
  })

  it("reads the example shop's journey (create-service --example ecommerce): one flow of four chained steps", () => {
    const text = readFileSync(
      new URL('../../../examples/ecommerce/files/load/shop.yaml', import.meta.url),
      'utf8',
    )
    const r = parseScenario(text)
    if (!r.ok) throw new Error(JSON.stringify(r))
    expect(r.scenario.flows?.map((f) => f.steps.map((s) => s.name))).toEqual([
      ['register', 'login', 'browse', 'order'],
    ])
  })

  it('reads a weighted mix with templates, expectations, load shape and thresholds', () => {
    const r = parseScenario(`
target: order
stages: [{ duration: 10s, rate: 100 }, { duration: 30s, rate: 1000 }]
headers: { x-test: load }
thresholds: [p99<300ms, errors<1%]
requests:
  - name: list orders
    path: /orders?limit=20
    weight: 4
    expect: 200
  - method: post
    path: /orders
    body: { name: "order {{seq}}" }
    expect: [201]
`)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.scenario.target).toBe('order')
    expect(r.scenario.stages).toEqual([
      { durationMs: 10_000, rate: 100 },
      { durationMs: 30_000, rate: 1000 },
    ])
    expect(r.scenario.thresholds.map((t) => t.text)).toEqual(['p99<300ms', 'errors<1%'])
    expect(r.scenario.requests).toEqual([
      {
        name: 'list orders',
        weight: 4,
        method: 'GET',
        path: '/orders?limit=20',
        headers: { 'x-test': 'load' },
        expect: [[200, 200]],
      },
      {
        name: 'POST /orders',
        weight: 1,
        method: 'POST',
        path: '/orders',
        headers: { 'x-test': 'load', 'content-type': 'application/json' },
        body: '{"name":"order {{seq}}"}',
        expect: [[201, 201]],
      },
    ])
  })

  it('names every problem by its place', () => {
    const r = parseScenario(`
rate: 10
connections: 5
thresholds: [p99<300]
extra: 1
requests:
  - path: orders
    weight: 0
  - path: /x/{{bogus}}
  - grpc: { service: order, method: GetOrder }
`)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems).toEqual([
      'extra: unknown key (known: target, rate, duration, warmup, stages, connections, headers, thresholds, grpc, requests, flows)',
      'thresholds[0]: "p99<300" is not a threshold (p99<300ms, errors<1%)',
      'requests[0].path: a path starting with /',
      'requests[0].weight: a positive number',
      expect.stringMatching(/^requests\[1\]\.path: unknown placeholder "\{\{bogus\}\}"/),
      'rate and connections: choose the open model (rate) or the closed one (connections)',
    ])
  })

  it('rejects what is not a scenario', () => {
    expect(parseScenario('- a').ok).toBe(false)
    expect(parseScenario('requests: [').ok).toBe(false)
  })
})
