import { describe, expect, it } from 'vitest'
import { Balancer, type BalancerOptions } from './balancer.js'

function fakeClock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

const A = ['10.0.0.1:3000', '10.0.0.2:3000', '10.0.0.3:3000']

/** Where n requests go, each finished (ok) before the next starts. */
function spread(b: Balancer, n: number): Record<string, number> {
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const lease = b.pick()!
    counts[lease.address] = (counts[lease.address] ?? 0) + 1
    lease.done(true)
  }
  return counts
}

describe('Balancer', () => {
  it.each<BalancerOptions['policy']>(['round-robin', 'least-outstanding'])(
    '%s spreads sequential requests evenly (no replica pinned)',
    (policy) => {
      expect(spread(new Balancer(A, { policy }), 3000)).toEqual({
        [A[0]!]: 1000,
        [A[1]!]: 1000,
        [A[2]!]: 1000,
      })
    },
  )

  it('least-outstanding sends to the replica with the fewest requests in flight', () => {
    const b = new Balancer(A)
    const slow = [b.pick()!, b.pick()!] // one in flight on each of the first two
    expect(slow.map((l) => l.address)).toEqual([A[0], A[1]])
    expect(b.pick()!.address).toBe(A[2])
    slow[0]!.done(true)
    // A[0] now has none in flight, A[1] and A[2] one each
    expect(b.pick()!.address).toBe(A[0])
  })

  it('ejects a replica after 3 failures in a row, takes it back after 5 s, and doubles a repeat', () => {
    const clock = fakeClock()
    const b = new Balancer(A, { policy: 'round-robin', now: clock.now })
    const fail = (address: string) => {
      for (;;) {
        const lease = b.pick()!
        lease.done(lease.address !== address)
        if (lease.address === address) return
      }
    }
    fail(A[1]!)
    fail(A[1]!)
    expect(b.snapshot()[1]!.ejected).toBe(false)
    fail(A[1]!)
    expect(b.snapshot()[1]).toMatchObject({ ejected: true, ejections: 1 })
    expect(Object.keys(spread(b, 100)).sort()).toEqual([A[0], A[2]])
    clock.advance(4999)
    expect(b.snapshot()[1]!.ejected).toBe(true)
    clock.advance(1)
    expect(b.snapshot()[1]!.ejected).toBe(false)
    // back, and failing again before any success: out for twice as long
    for (let k = 0; k < 3; k++) fail(A[1]!)
    clock.advance(9999)
    expect(b.snapshot()[1]!.ejected).toBe(true)
    clock.advance(1)
    expect(spread(b, 300)).toEqual({ [A[0]!]: 100, [A[1]!]: 100, [A[2]!]: 100 })
    // succeeding again: a later run of failures starts from 5 s
    for (let k = 0; k < 3; k++) fail(A[1]!)
    clock.advance(5000)
    expect(b.snapshot()[1]).toMatchObject({ ejected: false, ejections: 3 })
  })

  it('a success in between resets the count: scattered failures eject nothing', () => {
    const b = new Balancer([A[0]!])
    for (let k = 0; k < 100; k++) b.pick()!.done(k % 3 !== 0)
    expect(b.snapshot()[0]).toMatchObject({ ejected: false, ejections: 0 })
  })

  it('leaves out a replica whose readiness check fails, until it passes', () => {
    const b = new Balancer(A)
    b.setReady(A[2]!, false)
    expect(Object.keys(spread(b, 30)).sort()).toEqual([A[0], A[1]])
    b.setReady(A[2]!, true)
    expect(Object.keys(spread(b, 30)).sort()).toEqual([...A].sort())
  })

  it('takes a replica back at once when its readiness returns after failing (a restart), however long its ejection', () => {
    const clock = fakeClock()
    const b = new Balancer(A, { now: clock.now })
    const failOn = (address: string) => {
      for (let k = 0; k < 3; k++) {
        const lease = b.pick(new Set(A.filter((a) => a !== address)))!
        expect(lease.address).toBe(address)
        lease.done(false)
      }
    }
    failOn(A[2]!)
    clock.advance(5000)
    failOn(A[2]!) // ejected again: now for 10 s
    expect(b.snapshot()[2]).toMatchObject({ ejected: true, ejections: 2 })
    b.setReady(A[2]!, false)
    b.setReady(A[2]!, true)
    expect(b.snapshot()[2]).toMatchObject({ ejected: false, ready: true })
    expect(Object.keys(spread(b, 30)).sort()).toEqual([...A].sort())
    // a passing check of a replica that never failed one does not end a passive ejection
    failOn(A[1]!)
    b.setReady(A[1]!, true)
    expect(b.snapshot()[1]).toMatchObject({ ejected: true })
  })

  it('with every replica out, tries the one that has been out the longest rather than none', () => {
    const clock = fakeClock()
    const b = new Balancer(A.slice(0, 2), { policy: 'round-robin', now: clock.now })
    for (let k = 0; k < 6; k++) b.pick()!.done(false) // both ejected, A[0] first
    expect(b.snapshot().every((i) => i.ejected)).toBe(true)
    expect(b.pick()!.address).toBe(A[0])
  })

  it('keeps what it knows of an address across re-resolution and drops those gone', () => {
    const b = new Balancer(A)
    const held = b.pick()!
    b.setReady(A[1]!, false)
    b.setAddresses([A[1]!, A[0]!, '10.0.0.4:3000'])
    expect(b.snapshot()).toEqual([
      { address: A[1], outstanding: 0, ejected: false, ready: false, ejections: 0 },
      { address: A[0], outstanding: 1, ejected: false, ready: true, ejections: 0 },
      { address: '10.0.0.4:3000', outstanding: 0, ejected: false, ready: true, ejections: 0 },
    ])
    held.done(true)
    held.done(true) // a second done() changes nothing
    expect(b.snapshot()[1]!.outstanding).toBe(0)
    expect(new Balancer([]).pick()).toBeUndefined()
  })

  it('tells onEject of each ejection, with how long it lasts', () => {
    const clock = fakeClock()
    const ejections: [string, number][] = []
    const b = new Balancer(A.slice(0, 1), {
      now: clock.now,
      onEject: (address, ms) => ejections.push([address, ms]),
    })
    for (let k = 0; k < 2; k++) b.pick()!.done(false)
    expect(ejections).toEqual([])
    b.pick()!.done(false)
    expect(ejections).toEqual([[A[0], 5000]])
    clock.advance(5000)
    for (let k = 0; k < 3; k++) b.pick()!.done(false)
    expect(ejections).toEqual([
      [A[0], 5000],
      [A[0], 10_000],
    ])
  })

  it('passes over the addresses to avoid while another is usable (a retry goes elsewhere)', () => {
    const b = new Balancer(A, { policy: 'round-robin' })
    const counts = new Set<string>()
    for (let k = 0; k < 30; k++) {
      const lease = b.pick(new Set([A[0]!, A[1]!]))!
      counts.add(lease.address)
      lease.done(true)
    }
    expect([...counts]).toEqual([A[2]])
    b.setReady(A[2]!, false)
    // nothing else usable: an avoided instance is better than none
    expect([A[0], A[1]]).toContain(b.pick(new Set([A[0]!, A[1]!]))!.address)
  })
})
