import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { BreakerOpenError, CircuitBreaker } from './breaker.js'

const ok = () => Promise.resolve('ok')
const boom = () => Promise.reject(new Error('boom'))

function setup(halfOpenMaxCalls = 1) {
  let t = 0
  const registry = new Registry()
  const transitions: string[] = []
  const breaker = new CircuitBreaker({
    target: 'payment',
    failureThreshold: 3,
    openMs: 1000,
    halfOpenMaxCalls,
    now: () => t,
    registry,
    onStateChange: (from, to) => transitions.push(`${from}->${to}`),
  })
  const gauge = async () =>
    (await registry.getSingleMetricAsString('circuit_breaker_state')).split('\n').at(-1)
  return { breaker, registry, transitions, gauge, advance: (ms: number) => (t += ms) }
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures and fails fast', async () => {
    const { breaker, gauge } = setup()
    for (let i = 0; i < 3; i++) await expect(breaker.call(boom)).rejects.toThrow('boom')
    expect(breaker.state).toBe('open')
    let called = false
    await expect(breaker.call(async () => (called = true))).rejects.toBeInstanceOf(BreakerOpenError)
    expect(called).toBe(false)
    expect(await gauge()).toBe('circuit_breaker_state{target="payment"} 1')
  })

  it('a success resets the failure count while closed', async () => {
    const { breaker } = setup()
    await expect(breaker.call(boom)).rejects.toThrow()
    await expect(breaker.call(boom)).rejects.toThrow()
    await breaker.call(ok)
    await expect(breaker.call(boom)).rejects.toThrow()
    await expect(breaker.call(boom)).rejects.toThrow()
    expect(breaker.state).toBe('closed')
  })

  it('half-opens after openMs, closes on a successful trial', async () => {
    const { breaker, transitions, advance, gauge } = setup()
    for (let i = 0; i < 3; i++) await expect(breaker.call(boom)).rejects.toThrow()
    advance(999)
    expect(breaker.state).toBe('open')
    advance(1)
    expect(breaker.state).toBe('half-open')
    expect(await gauge()).toBe('circuit_breaker_state{target="payment"} 2')
    await expect(breaker.call(ok)).resolves.toBe('ok')
    expect(breaker.state).toBe('closed')
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
    expect(await gauge()).toBe('circuit_breaker_state{target="payment"} 0')
  })

  it('a failed trial opens it again for another openMs', async () => {
    const { breaker, advance } = setup()
    for (let i = 0; i < 3; i++) await expect(breaker.call(boom)).rejects.toThrow()
    advance(1000)
    await expect(breaker.call(boom)).rejects.toThrow('boom')
    expect(breaker.state).toBe('open')
    advance(500)
    expect(breaker.state).toBe('open')
    advance(500)
    expect(breaker.state).toBe('half-open')
  })

  it('lets only halfOpenMaxCalls trials through at once', async () => {
    const { breaker, advance } = setup(2)
    for (let i = 0; i < 3; i++) await expect(breaker.call(boom)).rejects.toThrow()
    advance(1000)
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const t1 = breaker.call(() => gate.then(() => 1))
    const t2 = breaker.call(() => gate.then(() => 2))
    await expect(breaker.call(ok)).rejects.toBeInstanceOf(BreakerOpenError)
    release()
    await Promise.all([t1, t2])
    expect(breaker.state).toBe('closed')
  })

  it('counts transitions in a metric', async () => {
    const { breaker, registry } = setup()
    for (let i = 0; i < 3; i++) await expect(breaker.call(boom)).rejects.toThrow()
    expect(await registry.getSingleMetricAsString('circuit_breaker_transitions_total')).toContain(
      'circuit_breaker_transitions_total{target="payment",from="closed",to="open"} 1',
    )
  })
})
