import { describe, expect, it } from 'vitest'
import { allocatePort, RESERVED_PORTS } from './model.js'

describe('allocatePort', () => {
  it('takes the lowest port at or above the base that msvc.yaml does not use', () => {
    expect(allocatePort(3001, new Set())).toBe(3001)
    expect(allocatePort(3001, new Set([3001, 3002, 3004]))).toBe(3003)
  })

  it("skips the ports msvc's own stack publishes (NATS, Prometheus, Grafana, Jaeger)", () => {
    expect([...RESERVED_PORTS.keys()].sort((a, b) => a - b)).toEqual([3000, 4222, 6222, 8222, 9090, 16686])
    expect(allocatePort(3000, new Set())).toBe(3001)
    expect(allocatePort(4222, new Set([4223]))).toBe(4224)
    expect(allocatePort(16686, new Map([[16687, 'x']]))).toBe(16688)
  })
})
