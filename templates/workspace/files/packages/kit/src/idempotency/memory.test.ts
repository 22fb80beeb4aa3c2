import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '../errors.js'
import { idempotentIn, MemoryIdempotencyStore } from './memory.js'
import { IdempotencyKeyReusedError, requestIdempotencyKey, runKeyed, StepCompensatedError } from './types.js'

const call = (key: string, operation = 'payment.charge') => ({ key, operation })

describe('MemoryIdempotencyStore', () => {
  it('runs the work once per key, answering the stored answer after, even to calls that came together', async () => {
    const store = new MemoryIdempotencyStore()
    let runs = 0
    const work = async () => {
      runs++
      await new Promise((r) => setTimeout(r, 5))
      return { charged: runs }
    }
    const together = await Promise.all([store.run(call('k'), work), store.run(call('k'), work)])
    expect(together).toEqual([
      { answer: { charged: 1 }, replayed: false },
      { answer: { charged: 1 }, replayed: true },
    ])
    expect(await store.run(call('k'), work)).toEqual({ answer: { charged: 1 }, replayed: true })
    expect(runs).toBe(1)
  })

  it('stores nothing when the work fails; a waiting call then runs it', async () => {
    const store = new MemoryIdempotencyStore()
    let runs = 0
    const failing = store.run(call('k'), async () => {
      runs++
      await new Promise((r) => setTimeout(r, 5))
      throw new Error('declined')
    })
    const waiting = store.run(call('k'), async () => ++runs)
    await expect(failing).rejects.toThrow('declined')
    expect(await waiting).toEqual({ answer: 2, replayed: false })
  })

  it('refuses a key given to another operation', async () => {
    const store = new MemoryIdempotencyStore()
    await store.run(call('k'), async () => 1)
    await expect(store.run(call('k', 'payment.refund'), async () => 2)).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    )
  })

  it('a compensation fences its call: one arriving late is refused; one in flight is waited for', async () => {
    const store = new MemoryIdempotencyStore()
    await store.run(call('s1:charge:compensate', 'payment.refund'), async () => 'nothing to refund')
    await expect(store.run(call('s1:charge'), async () => 'charged')).rejects.toBeInstanceOf(
      StepCompensatedError,
    )
    const order: string[] = []
    const charging = store.run(call('s2:charge'), async () => {
      await new Promise((r) => setTimeout(r, 5))
      order.push('charge')
    })
    const refunding = store.run(call('s2:charge:compensate', 'payment.refund'), async () => {
      order.push('refund')
    })
    await Promise.all([charging, refunding])
    expect(order).toEqual(['charge', 'refund'])
  })

  it('a compensation whose call never arrived answers `unchanged` and undoes nothing', async () => {
    const store = new MemoryIdempotencyStore()
    const undone: string[] = []
    const undo = (key: string) =>
      store.run(
        call(key, 'payment.refund'),
        async () => {
          undone.push(key)
          return 'refunded'
        },
        async () => 'nothing to undo',
      )
    expect(await undo('s3:charge:compensate')).toEqual({ answer: 'nothing to undo', replayed: false })
    await store.run(call('s4:charge'), async () => 'charged')
    expect(await undo('s4:charge:compensate')).toEqual({ answer: 'refunded', replayed: false })
    expect(undone).toEqual(['s4:charge:compensate'])
  })

  it('forgets a key after its time to live, and the oldest beyond its bound', async () => {
    let now = 0
    const store = new MemoryIdempotencyStore({ ttlMs: 1000, maxKeys: 2, now: () => now })
    await store.run(call('a'), async () => 'a')
    now = 1001
    expect(await store.run(call('a'), async () => 'a again')).toEqual({ answer: 'a again', replayed: false })
    await store.run(call('b'), async () => 'b')
    await store.run(call('c'), async () => 'c')
    expect(store.size).toBe(2)
    // a, the oldest, went
    expect((await store.run(call('a'), async () => 'a third')).replayed).toBe(false)
    expect((await store.run(call('c'), async () => 'c again')).replayed).toBe(true)
  })
})

describe('requestIdempotencyKey and runKeyed (what a generated operation does with a key)', () => {
  it('reads a key from a header or metadata value, none when absent, refuses one that is not a key', () => {
    expect(requestIdempotencyKey(undefined)).toBeUndefined()
    expect(requestIdempotencyKey([])).toBeUndefined()
    expect(requestIdempotencyKey('saga-1:charge')).toBe('saga-1:charge')
    expect(requestIdempotencyKey(['saga-1:charge', 'other'])).toBe('saga-1:charge')
    expect(() => requestIdempotencyKey('')).toThrow(InvalidInputError)
    expect(() => requestIdempotencyKey('x'.repeat(201))).toThrow(/idempotency-key must be 1 to 200/)
  })

  it('runs a keyed call once through the store, and a call without a key every time', async () => {
    const idempotent = idempotentIn(new MemoryIdempotencyStore())
    let runs = 0
    const work = async () => ({ charged: ++runs })
    expect(await runKeyed(idempotent, 'k', 'payment.charge', work)).toEqual({ charged: 1 })
    expect(await runKeyed(idempotent, 'k', 'payment.charge', work)).toEqual({ charged: 1 })
    expect(await runKeyed(idempotent, undefined, 'payment.charge', work)).toEqual({ charged: 2 })
    await expect(runKeyed(idempotent, 'k', 'payment.refund', work)).rejects.toThrow(IdempotencyKeyReusedError)
  })
})
