import { describe, expect, it } from 'vitest'
import type { RequestSpec } from '../core/loadtest/request.js'
import { parseScenario } from '../core/loadtest/scenario.js'
import { toLoadtestPlan, type LoadtestCliOptions } from './loadtest-plan.js'

const noWorkspace = () => ({ unknown: ['order'] })
const plan = (target: string | undefined, o: LoadtestCliOptions) =>
  toLoadtestPlan(target, o, undefined, noWorkspace)

describe('toLoadtestPlan', () => {
  it('defaults to the open model at 100/s for 10 s, GET of the URL', () => {
    const p = plan('http://127.0.0.1:3001/orders?x=1', {})
    expect(p.model).toEqual({
      kind: 'open',
      profile: { startRate: 100, stages: [{ durationMs: 10_000, rate: 100 }] },
      maxConnections: 1000,
    })
    expect(p.requests.map((r) => [r.method, (r as RequestSpec).path])).toEqual([['GET', '/orders?x=1']])
    expect(p.timeoutMs).toBe(10_000)
  })

  it('--connections is the closed model; --stages ramps from --rate or 0', () => {
    expect(plan('http://h/', { connections: '50', pipelining: '4', duration: '5s' }).model).toEqual({
      kind: 'closed',
      connections: 50,
      pipelining: 4,
      durationMs: 5000,
    })
    expect(plan('http://h/', { stages: '10s:100,30s:1000' }).model).toMatchObject({
      profile: {
        startRate: 0,
        stages: [
          { durationMs: 10_000, rate: 100 },
          { durationMs: 30_000, rate: 1000 },
        ],
      },
    })
  })

  it('shapes a URL request with --method, --header, --body, --expect', () => {
    const [r] = plan('http://h/x', {
      header: ['content-type: application/json'],
      body: '{}',
      expect: '200,201',
    }).requests
    expect(r).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      expect: [
        [200, 200],
        [201, 201],
      ],
    })
  })

  it.each<[string | undefined, LoadtestCliOptions, RegExp]>([
    [undefined, {}, /no target/],
    ['order', {}, /unknown service "order"|unknown service/],
    ['http://h/', { rate: '10', connections: '5' }, /exclude each other/],
    ['http://h/', { rate: '0' }, /not a positive number/],
    ['http://h/', { pipelining: '2' }, /--pipelining goes with --connections/],
    ['http://h/', { stages: '10s:5', duration: '5s' }, /--duration and --stages/],
    ['http://h/', { threshold: ['p99<1'] }, /is not a threshold/],
    ['https://h/', {}, /https: is not supported/],
    ['http://h/', { duration: 'ten' }, /--duration "ten" is not a duration/],
    ['http://h/', { timeout: '0' }, /--timeout "0" is not a duration/],
    ['http://h/', { rate: '1', duration: '100ms' }, /sends no request/],
    ['http://h/', { warmup: 'soon' }, /--warmup "soon" is not a duration/],
    ['http://h/', { rate: '1', warmup: '100ms' }, /a warm-up of 0.1 s sends no request/],
  ])('%s %j is refused', (t, o, re) => expect(() => plan(t, o)).toThrow(re))

  it('reads --duration and --timeout as every command reads durations: a bare number is seconds', () => {
    const p = toLoadtestPlan(
      'http://h/',
      { rate: '10', duration: '10', timeout: '90' },
      undefined,
      noWorkspace,
    )
    expect(p.timeoutMs).toBe(90_000)
    expect(p.model).toMatchObject({ profile: { stages: [{ durationMs: 10_000 }] } })
    const s = parseScenario('target: http://h/\nduration: 3\nrequests: [{ path: /a }]\n')
    if (!s.ok) throw new Error(s.problems.join())
    expect(s.scenario.durationMs).toBe(3000)
  })

  it('a scenario gives target, mix, shape and thresholds; flags win and add', () => {
    const s = parseScenario(`target: http://127.0.0.1:9/
rate: 20
duration: 2s
thresholds: [errors<1%]
requests: [{ path: /a, weight: 2 }, { path: /b }]
`)
    if (!s.ok) throw new Error(s.problems.join())
    const p = toLoadtestPlan(undefined, { rate: '50', threshold: ['p99<1s'] }, s.scenario, noWorkspace)
    expect(p.target).toBe('http://127.0.0.1:9/')
    expect(p.requests.map((r) => (r as RequestSpec).path)).toEqual(['/a', '/b'])
    expect(p.model).toMatchObject({ profile: { startRate: 50, stages: [{ durationMs: 2000, rate: 50 }] } })
    expect(p.thresholds.map((t) => t.text)).toEqual(['errors<1%', 'p99<1s'])
  })

  it("--warmup sends the run's starting load that long first: the rate, a ramp's first stage, or the connections", () => {
    expect(plan('http://h/', {}).warmup).toBeUndefined()
    expect(plan('http://h/', { rate: '300', duration: '1m', warmup: '5s' }).warmup).toEqual({
      durationMs: 5000,
      model: {
        kind: 'open',
        profile: { startRate: 300, stages: [{ durationMs: 5000, rate: 300 }] },
        maxConnections: 1000,
      },
    })
    expect(plan('http://h/', { stages: '10s:0,20s:100', warmup: '2s' }).warmup?.model).toMatchObject({
      profile: { startRate: 100, stages: [{ durationMs: 2000, rate: 100 }] },
    })
    expect(plan('http://h/', { stages: '10s:100', rate: '40', warmup: '2s' }).warmup?.model).toMatchObject({
      profile: { startRate: 40, stages: [{ durationMs: 2000, rate: 40 }] },
    })
    expect(plan('http://h/', { connections: '8', duration: '30s', warmup: '3s' }).warmup?.model).toEqual({
      kind: 'closed',
      connections: 8,
      pipelining: 1,
      durationMs: 3000,
    })
    // the scenario's warmup, and the flag over it
    const s = parseScenario('target: http://h/\nrate: 10\nwarmup: 4s\nrequests: [{ path: /a }]\n')
    if (!s.ok) throw new Error(s.problems.join())
    expect(toLoadtestPlan(undefined, {}, s.scenario, noWorkspace).warmup?.model).toMatchObject({
      profile: { stages: [{ durationMs: 4000, rate: 10 }] },
    })
    expect(toLoadtestPlan(undefined, { warmup: '1s' }, s.scenario, noWorkspace).warmup?.model).toMatchObject({
      profile: { stages: [{ durationMs: 1000, rate: 10 }] },
    })
    const bad = parseScenario('target: http://h/\nwarmup: later\nrequests: [{ path: /a }]\n')
    expect(bad.ok ? [] : bad.problems).toEqual(['warmup: "later" is not a duration (10s, 1m, or seconds)'])
  })

  it('a scenario of gRPC calls needs no target: each call names its service', () => {
    const s = parseScenario(`
requests:
  - grpc: { service: order, method: GetOrder }
  - grpc: { service: payment, method: GetPayment }
  - grpc: { service: order, method: ListOrders }
`)
    if (!s.ok) throw new Error(s.problems.join())
    const p = toLoadtestPlan(undefined, {}, s.scenario, noWorkspace)
    expect(p.target).toBe('order, payment')
    expect(p.url).toBeUndefined()
    expect(p.requests.map((r) => r.name)).toEqual([
      'order.GetOrder',
      'payment.GetPayment',
      'order.ListOrders',
    ])
    const mixed = parseScenario('requests: [{ grpc: { service: order, method: GetOrder } }, { path: /a }]')
    if (!mixed.ok) throw new Error(mixed.problems.join())
    expect(() => toLoadtestPlan(undefined, {}, mixed.scenario, noWorkspace)).toThrow('no target')
  })

  it("--connections on the command line wins over the scenario's rate (flags win)", () => {
    const s = parseScenario('target: http://h/\nrate: 20\nduration: 2s\nrequests: [{ path: /a }]')
    if (!s.ok) throw new Error(s.problems.join())
    expect(toLoadtestPlan(undefined, { connections: '4' }, s.scenario, noWorkspace).model).toEqual({
      kind: 'closed',
      connections: 4,
      pipelining: 1,
      durationMs: 2000,
    })
  })
})

describe('toLoadtestPlan: worker threads', () => {
  const on = (cores: number, o: LoadtestCliOptions) =>
    toLoadtestPlan('http://h/', o, undefined, noWorkspace, cores)

  it('defaults to 1 below 8 cores, then a quarter of them, at most 4', () => {
    expect([2, 7, 8, 12, 16, 64].map((cores) => on(cores, {}).workers)).toEqual([1, 1, 2, 3, 4, 4])
    expect(on(2, { workers: '3' }).workers).toBe(3)
  })

  it('never defaults to more workers than the closed model has connections', () => {
    expect(on(64, { connections: '1' }).workers).toBe(1)
    expect(on(64, { connections: '3' }).workers).toBe(3)
    expect(() => on(2, { connections: '2', workers: '3' })).toThrow(
      '--connections 2 cannot be shared by --workers 3',
    )
  })
})
