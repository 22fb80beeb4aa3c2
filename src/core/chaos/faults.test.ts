import { describe, expect, it } from 'vitest'
import { describeFault, selectReplicas, toFaultSpec, type FaultInput } from './faults.js'

describe('toFaultSpec', () => {
  it.each<[FaultInput, unknown]>([
    [{ kind: 'kill' }, { kind: 'kill', signal: 'SIGKILL' }],
    [
      { kind: 'kill', signal: 'term' },
      { kind: 'kill', signal: 'SIGTERM' },
    ],
    [
      { kind: 'latency', value: '200ms', jitter: '50ms' },
      { kind: 'latency', delayMs: 200, jitterMs: 50 },
    ],
    [
      { kind: 'loss', value: '20%' },
      { kind: 'loss', probability: 0.2 },
    ],
    [
      { kind: 'bandwidth', value: '100kbit' },
      { kind: 'bandwidth', bytesPerSecond: 12_500 },
    ],
    [
      { kind: 'partition', from: 'order' },
      { kind: 'partition', from: 'order' },
    ],
    [{ kind: 'pause' }, { kind: 'pause' }],
  ])('%j', (input, spec) => expect(toFaultSpec(input)).toEqual(spec))

  it.each<[FaultInput, RegExp]>([
    [{ kind: 'kill', signal: 'SIGFOO' }, /^--signal "SIGFOO" is not a signal msvc sends$/],
    [{ kind: 'latency' }, /latency needs a delay/],
    [{ kind: 'latency', value: 'soon' }, /not a delay/],
    [{ kind: 'latency', value: '100ms', jitter: '200ms' }, /^--jitter 200ms is larger than the delay 100ms$/],
    [{ kind: 'latency', value: '100ms', jitter: 'lots' }, /^--jitter "lots" is not a duration$/],
    [{ kind: 'loss', value: '0%' }, /not a percentage above 0/],
    [{ kind: 'bandwidth', value: 'fast' }, /not a rate/],
  ])('rejects %j', (input, err) => expect(() => toFaultSpec(input)).toThrow(err))
})

describe('describeFault', () => {
  it.each([
    [{ kind: 'latency', delayMs: 200, jitterMs: 50 }, 'latency +200ms ±50ms'],
    [{ kind: 'loss', probability: 0.2 }, 'packet loss 20%'],
    [{ kind: 'bandwidth', bytesPerSecond: 12_500 }, 'bandwidth 100kbit'],
    [{ kind: 'partition', from: 'order' }, 'network partition from order'],
    [{ kind: 'kill', signal: 'SIGKILL' }, 'kill (SIGKILL)'],
  ] as const)('%j', (spec, text) => expect(describeFault(spec)).toBe(text))
})

describe('selectReplicas', () => {
  it.each([
    [{}, ['a']],
    [{ replica: 2 }, ['b']],
    [{ all: true }, ['a', 'b', 'c']],
  ])('%j', (sel, out) => expect(selectReplicas(['a', 'b', 'c'], sel, 'svc')).toEqual(out))
  it('names the range when --replica is out of it', () =>
    expect(() => selectReplicas(['a', 'b'], { replica: 3 }, 'svc')).toThrow(/svc has 2 running replicas/))
})
