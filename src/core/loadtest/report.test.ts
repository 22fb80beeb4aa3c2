import { describe, expect, it } from 'vitest'
import type { Journal } from '../chaos/journal.js'
import type { Ledger } from '../chaos/ledger.js'
import { chaosWindows } from './report.js'
import { serviceTarget } from './targets.js'
import type { Workspace } from '../workspace/model.js'

const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const iso = (ms: number) => new Date(T0 + ms).toISOString()

describe('chaosWindows', () => {
  it('from a journal: lasting faults span applied..ended, a kill spans until recovery, which it keeps', () => {
    const journal = {
      method: [
        {
          type: 'fault',
          atMs: 5000,
          service: 'payment',
          fault: 'kill',
          spec: { kind: 'kill', signal: 'SIGKILL' },
          targets: [],
          appliedAt: iso(5000),
          recovery: { recovered: true, from: T0 + 5000, recoveredMs: 2500 },
        },
        {
          type: 'fault',
          atMs: 10_000,
          service: 'inventory',
          fault: 'latency',
          spec: { kind: 'latency', delayMs: 200, jitterMs: 0 },
          targets: [],
          appliedAt: iso(10_000),
          endedAt: iso(30_000),
        },
        {
          type: 'fault',
          atMs: 40_000,
          service: 'x',
          fault: 'restart',
          spec: { kind: 'restart' },
          targets: [],
          appliedAt: iso(40_000),
        },
        { type: 'probe', atMs: 1, result: {} },
      ],
    } as unknown as Journal
    expect(chaosWindows(journal, T0, T0 + 20_000)).toEqual([
      // when its service was back is kept: the phases' recovery starts there
      { label: 'kill payment', startMs: 5000, endMs: 7500, recoveredMs: 7500 },
      { label: 'latency inventory', startMs: 10_000, endMs: 20_000 },
    ])
  })

  it('from the journal of a method still running: a lasting fault not undone is in force to the end, one still watched is not back', () => {
    const journal = {
      method: [
        {
          type: 'fault',
          atMs: 2000,
          service: 'web',
          fault: 'pause',
          spec: { kind: 'pause' },
          targets: [],
          appliedAt: iso(2000),
        },
        {
          type: 'fault',
          atMs: 3000,
          service: 'payment',
          fault: 'kill',
          spec: { kind: 'kill', signal: 'SIGKILL' },
          targets: [],
          appliedAt: iso(3000),
        },
      ],
    } as unknown as Journal
    expect(chaosWindows(journal, T0, T0 + 6000, true)).toEqual([
      { label: 'pause web', startMs: 2000, endMs: 6000, recovered: false },
      { label: 'kill payment', startMs: 3000, endMs: 4000, recovered: false },
    ])
    // read afterwards (--chaos-journal), the same journal says nothing of their recovery
    expect(chaosWindows(journal, T0, T0 + 6000)).toEqual([
      { label: 'pause web', startMs: 2000, endMs: 3000 },
      { label: 'kill payment', startMs: 3000, endMs: 4000 },
    ])
  })

  it('from a ledger: applied..until, or to the run end', () => {
    const ledger = {
      version: 1,
      faults: [
        {
          id: 'a',
          service: 'order',
          spec: { kind: 'pause' },
          appliedAt: iso(-2000),
          until: iso(3000),
          targets: [],
          ports: [],
          state: 'active',
        },
        {
          id: 'b',
          service: 'order',
          spec: { kind: 'loss' },
          appliedAt: iso(4000),
          targets: [],
          ports: [],
          state: 'active',
        },
      ],
    } as unknown as Ledger
    expect(chaosWindows(ledger, T0, T0 + 9000)).toEqual([
      { label: 'pause order', startMs: 0, endMs: 3000 },
      { label: 'loss order', startMs: 4000, endMs: 9000 },
    ])
  })
})

describe('serviceTarget', () => {
  const svc = {
    description: '',
    resource: 'orders',
    ports: { http: 3004 },
    calls: [],
    publishes: [],
    subscribes: [],
    replicas: 1,
    env: {},
  }
  const ws: Workspace = {
    name: 'shop',
    services: {
      order: { ...svc, capabilities: ['http'] },
      worker: { ...svc, resource: 'workers', ports: { http: 3005 }, capabilities: [] },
    },
    events: {},
  }

  it('an http service: list and create on its published port', () => {
    const t = serviceTarget(ws, 'order')!
    expect(t.url.href).toBe('http://127.0.0.1:3004/')
    expect(t.requests.map((r) => [r.method, r.path, r.weight])).toEqual([
      ['GET', '/orders?limit=20', 4],
      ['POST', '/orders', 1],
    ])
    // the default fields: name (unique, made fresh per request), description and status
    expect(Object.keys(JSON.parse(t.requests[1]!.body!.replace('{{uuid}}', 'u')))).toEqual([
      'name',
      'description',
      'status',
    ])
  })

  it('without http: its health route; unknown: undefined', () => {
    expect(serviceTarget(ws, 'worker')!.requests[0]!.path).toBe('/health/live')
    expect(serviceTarget(ws, 'nope')).toBeUndefined()
  })
})
