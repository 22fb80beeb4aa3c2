import { describe, expect, it } from 'vitest'
import { parseScheduledFault } from './chaos-plan.js'

describe('parseScheduledFault', () => {
  it.each([
    [
      'kill payment@10s',
      { service: 'payment', selection: {}, spec: { kind: 'kill', signal: 'SIGKILL' }, atMs: 10_000 },
    ],
    ['kill payment:all@10s', { service: 'payment', selection: { all: true }, atMs: 10_000 }],
    [
      'pause order:2@3s for 5s',
      { service: 'order', selection: { replica: 2 }, spec: { kind: 'pause' }, forMs: 5000 },
    ],
    [
      'latency inventory:all 200ms@1s',
      { service: 'inventory', selection: { all: true }, spec: { kind: 'latency', delayMs: 200 } },
    ],
    ['pause order@3s for 5s', { service: 'order', spec: { kind: 'pause' }, atMs: 3000, forMs: 5000 }],
    [
      'latency inventory 200ms @ 1m for 20s',
      { service: 'inventory', spec: { kind: 'latency', delayMs: 200 }, atMs: 60_000, forMs: 20_000 },
    ],
  ])('%s', (text, want) => expect(parseScheduledFault(text)).toMatchObject(want))

  it.each([
    ['kill payment', /is not <fault>/],
    ['explode payment@1s', /not a fault/],
    ['kill payment@soon', /not an offset/],
    ['kill payment@1s for 5s', /happens once/],
    ['latency inventory@1s for 5s', /latency needs/],
    ['kill payment:every@1s', /names no replicas: write payment:all, or payment:2/],
    ['kill payment:0@1s', /names no replicas/],
  ])('rejects %s', (text, re) => expect(() => parseScheduledFault(text)).toThrow(re))
})
